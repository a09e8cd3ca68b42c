#!/usr/bin/env bash
# Installs what the browser test needs; idempotent, run as root (CI and setup scripts call it):
#   - Debian's chromium, only if /usr/bin/chromium is missing
#   - nodejs / npm from Debian, only if `node` / `npm` are missing
#   - playwright-core at the version pinned in package-lock.json (`npm ci`, into node_modules)
# The test drives /usr/bin/chromium; it never downloads a browser of its own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

if [ "${#packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: need root to install ${packages[*]} (apt-get)" >&2
    exit 1
  fi
  echo "install.sh: installing ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${packages[@]}"
fi

# npm ci wipes and refills node_modules; skip it when the pinned version is already there.
wanted=$(node -p "require('./package-lock.json').packages['node_modules/playwright-core'].version")
have=$(node -p "try { require('./node_modules/playwright-core/package.json').version } catch (e) { '' }")
if [ "$wanted" != "$have" ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "install.sh: chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), playwright-core $wanted: ready"
