#!/usr/bin/env bash
# Herald's one entry point on a fresh Debian 12 machine (run as root, or as a user with sudo).
#
#   packaging/bootstrap.sh run    install what is missing, build, run a single node (embedded
#                                 broker) on http://127.0.0.1:8080, and the console if there is
#                                 a display
#   packaging/bootstrap.sh test   install what is missing, build with warnings as errors, run
#                                 every test (ctest), then packaging/deb-check.sh
#   packaging/bootstrap.sh deps       only install what building and running need
#   packaging/bootstrap.sh test-deps  only install that and what the tests need
#   packaging/bootstrap.sh build      only configure and build (into ./build)
#   packaging/bootstrap.sh deb-check  build the Debian packages, lint, install, check and
#                                     purge them (root or sudo)
#
# Installing never stops a service of the machine's own: the tests start their own redis-server
# and nginx on free loopback ports.
# Environment: HERALD_BUILD_DIR (default ./build), HERALD_LISTEN (default 127.0.0.1:8080).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${HERALD_BUILD_DIR:-$ROOT/build}"
LISTEN="${HERALD_LISTEN:-127.0.0.1:8080}"

# What building needs, and what the tests need on top (real peers, not mocks).
BUILD_PACKAGES=(cmake ninja-build g++ make pkg-config qt6-base-dev qt6-websockets-dev
  qt6-charts-dev libqt6opengl6-dev qtkeychain-qt6-dev qt6-qpa-plugins libgl-dev libhiredis-dev libssl-dev
  libhttp-parser-dev help2man)
TEST_PACKAGES=(redis-server openssl nginx-light xvfb xauth chromium ca-certificates
  haproxy python3-yaml python3-kubernetes docker-compose)
# What the man page test and packaging/deb-check.sh need (cpack's dpkg-shlibdeps, lintian,
# systemd-analyze, man).
TEST_PACKAGES+=(dpkg-dev lintian systemd man-db groff-base desktop-file-utils)
# tst_tls: Debian's Python as an independent wss:// client.
TEST_PACKAGES+=(python3 python3-websockets)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "bootstrap: '$*' needs root; run as root or install sudo" >&2; exit 1
  fi
}

missing_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

install_packages() {
  local missing
  mapfile -t missing < <(missing_packages "$@")
  # Node.js and npm come from Debian only where the machine has none of its own.
  if [ "${WANT_NODE:-0}" = 1 ]; then
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

deps_run() { install_packages "${BUILD_PACKAGES[@]}"; }

deps_test() {
  WANT_NODE=1 install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
  # playwright-core at the pinned version (drives Debian's chromium; downloads no browser).
  as_root bash "$ROOT/tests/integration/browser/install.sh"
}

build() {
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
  cmake --build "$BUILD_DIR" --parallel "$(nproc)"
}

run() {
  deps_run
  build
  local server="$BUILD_DIR/bin/herald-server"
  local ctl="$BUILD_DIR/bin/heraldctl"
  # The secret that signs users' development tokens. Printed, so `heraldctl token` can mint one
  # in another terminal (the node is loopback-only and in development mode).
  local secret="${HERALD_JWT_SECRET:-herald-dev-secret}"
  echo
  echo "Herald is starting on http://$LISTEN (development mode: loopback needs no token)."
  echo "  1. open http://$LISTEN/ in a browser"
  echo "  2. in another terminal: $ctl --server http://$LISTEN broadcast \"hello\""
  echo "  3. watch the banner appear on the page; Ctrl-C stops Herald"
  echo "  A user's token for /private (the development JWT secret is \"$secret\"):"
  echo "     export HERALD_JWT_SECRET='$secret'"
  echo "     $ctl token --user u42"
  echo
  "$server" --listen "$LISTEN" --dev --jwt-secret "$secret" &
  SERVER_PID=$!
  trap 'kill -TERM "${SERVER_PID:-}" 2>/dev/null || true; wait "${SERVER_PID:-}" 2>/dev/null || true' INT TERM EXIT
  if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$BUILD_DIR/bin/herald-console" ]; then
    "$BUILD_DIR/bin/herald-console" --server "http://$LISTEN" &
  fi
  wait "$SERVER_PID"
}

# Builds and lints as this user; deb-check.sh uses root (or sudo) only to install and purge.
deb_check() {
  "$ROOT/packaging/deb-check.sh" "$BUILD_DIR"
}

run_tests() {
  deps_test
  build -DHERALD_WERROR=ON
  (cd "$BUILD_DIR" && ctest --output-on-failure --timeout 600 "$@")
  deb_check
}

# The comment block at the top of this file, without its "# ".
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

case "${1:-}" in
  run) run ;;
  test) shift; run_tests "$@" ;;
  deps) deps_run ;;
  test-deps) deps_test ;;
  build) shift; deps_run; build "$@" ;;
  deb-check) deps_test; build; deb_check ;;
  *) usage; exit 2 ;;
esac
