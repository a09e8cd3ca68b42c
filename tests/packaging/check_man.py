"""The man pages say what the programs do: each built page exists, names every option the
program's own --help lists (for heraldctl also every "heraldctl help COMMAND"), and renders with
man and groff without a single warning.

    /usr/bin/python3 check_man.py MAN_DIR      (ctest runs it; label "packaging")
Needs man-db and groff-base (packaging/bootstrap.sh test-deps).
"""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from herald_check import Problems, die  # noqa: E402

# An option at the start of a help line: "  -h, --help", "  --listen <ADDR:PORT>", "  --user USER".
OPTION_LINE = re.compile(r"^\s+(-[A-Za-z?](?:,\s*)?)?(--[a-z][a-z0-9-]*)?")
# Roff escapes that may sit inside an option name in the page's source.
ROFF_ESCAPES = re.compile(r"\\f(?:\[[^]]*\]|\(..|.)|\\[,/&]")


def run(command, env=None):
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def help_options(text):
    options = set()
    for line in text.splitlines():
        match = OPTION_LINE.match(line)
        if not match:
            continue
        for group in match.groups():
            if group:
                options.add(group.rstrip(", "))
    return options


def program_options(binary):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("DISPLAY", None)
    overview = run([binary, "--help"], env)
    if overview.returncode != 0:
        die(f"{binary} --help exited {overview.returncode}: {overview.stderr}")
    options = help_options(overview.stdout)
    # Sub-commands (heraldctl): each one's own help lists its options.
    section = re.search(r"^Commands:\n((?:  .*\n)+)", overview.stdout, re.M)
    for line in section.group(1).splitlines() if section else []:
        command = line.split()[0]
        detail = run([binary, "help", command], env)
        if detail.returncode != 0:
            die(f"{binary} help {command} exited {detail.returncode}")
        options |= help_options(detail.stdout)
    return options


def main():
    if len(sys.argv) != 2:
        die("usage: check_man.py MAN_DIR")
    man_dir = sys.argv[1]
    for tool in ("man", "groff"):
        if not shutil.which(tool):
            die(f"{tool} is missing (packaging/bootstrap.sh test-deps installs man-db and groff-base)")
    bin_dir = os.environ.get("HERALD_BIN_DIR", "")
    programs = [p for p in ("herald-server", "herald-console", "heraldctl")
                if os.access(os.path.join(bin_dir, p), os.X_OK)]
    if "herald-server" not in programs or "heraldctl" not in programs:
        die(f"herald-server and heraldctl must be built in {bin_dir} (HERALD_BIN_DIR)")
    problems = Problems("check_man")
    for program in programs:
        page = os.path.join(man_dir, f"{program}.1")
        if not problems.expect(os.path.isfile(page) and os.path.isfile(page + ".gz"),
                               f"{page} and {page}.gz were not built"):
            continue
        with open(page, encoding="utf-8") as file:
            source = ROFF_ESCAPES.sub("", file.read()).replace("\\-", "-")
        options = program_options(os.path.join(bin_dir, program))
        problems.expect(len(options) >= 3, f"{program}: only {sorted(options)} found in --help")
        for option in sorted(options):
            problems.expect(re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", source),
                            f"{program}.1 does not mention {option}")
        # Rendering: man's and groff's warnings (all of them: -ww) must be silent.
        env = dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat", LC_ALL="C.UTF-8")
        rendered = run(["man", "--warnings=w", "-l", page + ".gz"], env)
        problems.expect(rendered.returncode == 0 and not rendered.stderr.strip(),
                        f"man -l {program}.1.gz: exit {rendered.returncode}, {rendered.stderr.strip()}")
        problems.expect(program in rendered.stdout and "SYNOPSIS" in rendered.stdout,
                        f"man -l {program}.1.gz rendered no page")
        checked = run(["groff", "-man", "-ww", "-z", "-Tutf8", page], env)
        problems.expect(checked.returncode == 0 and not checked.stderr.strip(),
                        f"groff -ww {program}.1: {checked.stderr.strip()}")
        print(f"{program}.1: {len(options)} options, all mentioned; renders without warnings")
    sys.exit(problems.report())


if __name__ == "__main__":
    main()
