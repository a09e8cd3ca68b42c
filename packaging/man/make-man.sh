#!/usr/bin/env bash
# Writes PROGRAM's man page from the program's own --help and --version (Debian's help2man), so
# the page lists exactly the options the binary has. The build runs it after linking PROGRAM.
#
#   packaging/man/make-man.sh BIN_DIR PROGRAM SUMMARY OUT_DIR
#
# Writes OUT_DIR/PROGRAM.1 and OUT_DIR/PROGRAM.1.gz (the installed one). Adds
# packaging/man/PROGRAM.h2m (hand-written sections: FILES, SEE ALSO ...) when it exists; for a
# program with sub-commands ("Commands:" in --help, heraldctl) each "PROGRAM help COMMAND" text
# becomes a subsection of COMMANDS IN DETAIL.
set -euo pipefail

if [ $# -ne 4 ]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
BIN_DIR="$1" PROGRAM="$2" SUMMARY="$3" OUT_DIR="$4"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v help2man >/dev/null || { echo "make-man: help2man is missing (apt-get install help2man)" >&2; exit 1; }
mkdir -p "$OUT_DIR"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Run by name from PATH, so the usage line reads "PROGRAM [options]", not the build path.
export PATH="$BIN_DIR:$PATH"
# The console must not try to reach a display or a keyring to print its help.
export QT_QPA_PLATFORM=offscreen

# Roff-safe literal text: backslashes, leading dots and quotes, and minus signs.
roff_literal() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/" -e 's/-/\\-/g'; }

includes=()
[ -f "$HERE/$PROGRAM.h2m" ] && includes+=(--include "$HERE/$PROGRAM.h2m")

commands="$("$PROGRAM" --help | awk '/^Commands:/ {on = 1; next} on && /^$/ {exit} on && /^  [a-z]/ {print $1}')"
if [ -n "$commands" ]; then
  {
    echo "[COMMANDS IN DETAIL]"
    for command in $commands; do
      [ "$command" = help ] && continue
      echo ".SS \"$PROGRAM $command\""
      echo ".nf"
      # Each command's own help, without the global options and exit codes repeated.
      "$PROGRAM" help "$command" | awk '/^Global options:/ {exit} {print}' | roff_literal
      echo ".fi"
    done
  } >"$WORK/commands.h2m"
  includes+=(--include "$WORK/commands.h2m")
fi

help2man --no-info --section 1 --name "$SUMMARY" "${includes[@]}" \
  --output "$OUT_DIR/$PROGRAM.1" "$PROGRAM"
gzip -9nc "$OUT_DIR/$PROGRAM.1" >"$OUT_DIR/$PROGRAM.1.gz"
