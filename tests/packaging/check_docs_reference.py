#!/usr/bin/python3
"""docs/operations.md against the program itself, so the reference cannot drift:

- the settings table between <!-- settings:begin --> and <!-- settings:end --> is exactly what
  herald-server --help says (key, variable, option, meaning);
- every metric family a running node exposes on /metrics is named in the document.

    /usr/bin/python3 check_docs_reference.py            (ctest runs it; label "packaging")
    /usr/bin/python3 check_docs_reference.py --write    rewrites the table from --help
"""
import os
import re
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import herald_check  # noqa: E402

BEGIN = "<!-- settings:begin -->"
END = "<!-- settings:end -->"


def settings_from_help(binary):
    """(option, value name, text, variable) for each setting herald-server --help lists."""
    out = subprocess.run([binary, "--help"], check=True, capture_output=True, text=True,
                         timeout=30).stdout
    rows = []
    current = None
    for line in out.splitlines():
        start = re.match(r"^  (?:-\w, )?--([a-z0-9-]+)(?: <([^>]+)>)?\s+(.*)$", line)
        if start:
            current = [start.group(1), start.group(2) or "", start.group(3).strip()]
            rows.append(current)
        elif current and line.startswith(" " * 10):
            current[2] += " " + line.strip()
    table = []
    for option, value, text in rows:
        if option in ("help", "version"):
            continue
        variable = re.search(r"\[(HERALD_[A-Z0-9_]+)\]\s*$", text)
        text = re.sub(r"\s*\[HERALD_[A-Z0-9_]+\]\s*$", "", text)
        if option == "config":
            variable_name = "HERALD_CONFIG"
        else:
            variable_name = variable.group(1) if variable else ""
        table.append((option.replace("-", "_"), variable_name, f"--{option}" +
                      (f" {value}" if value else ""), text.replace("|", "\\|")))
    return table


def render(table):
    lines = ["| key | environment | option | what it does |", "|---|---|---|---|"]
    for key, variable, option, text in table:
        lines.append(f"| `{key}` | `{variable}` | `{option}` | {text} |")
    return "\n".join(lines)


def main():
    problems = herald_check.Problems("check_docs_reference")
    binary = herald_check.server_binary()
    path = os.path.join(herald_check.source_dir(), "docs", "operations.md")
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        herald_check.die(f"{path} has no {BEGIN} ... {END} block")
    wanted = render(settings_from_help(binary))
    head, rest = doc.split(BEGIN, 1)
    current, tail = rest.split(END, 1)
    if "--write" in sys.argv:
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"{head}{BEGIN}\n{wanted}\n{END}{tail}")
        print(f"wrote the settings table of {path}")
        return 0
    problems.expect(current.strip() == wanted.strip(),
                    "the settings table in docs/operations.md differs from herald-server --help: "
                    "run tests/packaging/check_docs_reference.py --write (HERALD_BIN_DIR, "
                    "HERALD_SOURCE_DIR set) and review the diff")
    with herald_check.Node([binary, "--dev"]) as node:
        with urllib.request.urlopen(f"http://127.0.0.1:{node.port}/metrics", timeout=10) as r:
            metrics = r.read().decode()
    families = sorted(set(re.findall(r"^# TYPE (herald_[a-z0-9_]+) ", metrics, re.M)))
    problems.expect(len(families) >= 10, f"only {len(families)} metric families on /metrics")
    for family in families:
        problems.expect(f"`{family}" in doc or f"{family}" in doc,
                        f"metric {family} is not described in docs/operations.md")
    return problems.report()


if __name__ == "__main__":
    sys.exit(main())
