#!/usr/bin/env bash
# packaging/bootstrap.sh with no argument prints its usage (its leading comment block, nothing of
# the code after it) and exits 2, without installing or building anything.
#   check_bootstrap_usage.sh SOURCE_DIR      (ctest runs it; label "packaging")
set -uo pipefail
script="$1/packaging/bootstrap.sh"
out="$(bash "$script" 2>&1)"
status=$?
fail() { echo "FAIL: $*"; echo "--- output:"; echo "$out"; exit 1; }
[ "$status" = 2 ] || fail "exit status $status, expected 2"
for command in run test deps test-deps build deb-check; do
  grep -q "^  packaging/bootstrap.sh $command " <<<"$out" || fail "usage does not list \"$command\""
done
# The first line that is not a comment in the script must not leak into the usage.
first_code="$(awk 'NR > 1 && !/^#/ { print; exit }' "$script")"
grep -qF -- "$first_code" <<<"$out" && fail "usage shows code: \"$first_code\""
grep -q '^#' <<<"$out" && fail "usage keeps the comment marks"
echo "bootstrap.sh usage: $(wc -l <<<"$out") lines, exit 2"
