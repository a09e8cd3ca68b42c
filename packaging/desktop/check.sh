#!/usr/bin/env bash
# Validates the console's desktop entry and AppStream metadata with whatever validators exist.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
status=0
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$ROOT/resources/herald-console.desktop" || status=1
else
  grep -q '^Exec=herald-console' "$ROOT/resources/herald-console.desktop" || { echo "desktop entry lacks Exec" >&2; status=1; }
fi
if command -v appstreamcli >/dev/null; then
  # Errors only: the id is the plain binary name on purpose (no reverse-DNS domain to claim).
  out="$(appstreamcli validate --no-net "$ROOT/resources/herald-console.appdata.xml" 2>&1 || true)"
  echo "$out"
  if grep -q '^E:' <<<"$out"; then status=1; fi
else
  python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$ROOT/resources/herald-console.appdata.xml" || status=1
fi
exit $status
