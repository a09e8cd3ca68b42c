#!/usr/bin/env bash
# Herald's one entry point on a fresh Debian 12 machine (run as root, or as a user with sudo).
#
#   packaging/bootstrap.sh run    install what is missing, build, run a single node (embedded
#                                 broker) on http://127.0.0.1:8080, and the console if there is
#                                 a display
#   packaging/bootstrap.sh test   install what is missing, build with warnings as errors, and
#                                 run every test (ctest)
#   packaging/bootstrap.sh deps   only install what is missing
#   packaging/bootstrap.sh build  only configure and build (into ./build)
#
# Environment: HERALD_BUILD_DIR (default ./build), HERALD_LISTEN (default 127.0.0.1:8080).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${HERALD_BUILD_DIR:-$ROOT/build}"
LISTEN="${HERALD_LISTEN:-127.0.0.1:8080}"

# What building needs, and what the tests need on top (real peers, not mocks).
BUILD_PACKAGES=(cmake ninja-build g++ make pkg-config qt6-base-dev qt6-websockets-dev
  qt6-charts-dev libqt6opengl6-dev qtkeychain-qt6-dev qt6-qpa-plugins libgl-dev libhiredis-dev libssl-dev
  libhttp-parser-dev)
TEST_PACKAGES=(redis-server nginx-light libnginx-mod-nchan xvfb xauth chromium ca-certificates)

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
  # Installing the packages may start system services; the tests start their own on free ports.
  as_root sh -c 'service redis-server stop; service nginx stop' >/dev/null 2>&1 || true
  # playwright-core at the pinned version (drives Debian's chromium; downloads no browser).
  as_root bash "$ROOT/tests/integration/browser/install.sh"
  # The load tests' Node ws peer, at the version its package-lock.json pins.
  [ -f "$ROOT/tests/load/peers/node-ws/node_modules/ws/package.json" ] ||
    (cd "$ROOT/tests/load/peers/node-ws" && npm ci --no-audit --no-fund --loglevel=error)
}

build() {
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
  cmake --build "$BUILD_DIR" --parallel "$(nproc)"
}

run() {
  deps_run
  build
  local server="$BUILD_DIR/bin/herald-server"
  echo
  echo "Herald is starting on http://$LISTEN (development mode: loopback needs no token)."
  echo "  1. open http://$LISTEN/ in a browser"
  echo "  2. in another terminal: $BUILD_DIR/bin/heraldctl --server http://$LISTEN broadcast \"hello\""
  echo "  3. watch the banner appear on the page; Ctrl-C stops Herald"
  echo
  "$server" --listen "$LISTEN" --dev --jwt-secret "${HERALD_JWT_SECRET:-herald-dev-secret}" &
  SERVER_PID=$!
  trap 'kill -TERM "${SERVER_PID:-}" 2>/dev/null || true; wait "${SERVER_PID:-}" 2>/dev/null || true' INT TERM EXIT
  if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$BUILD_DIR/bin/herald-console" ]; then
    "$BUILD_DIR/bin/herald-console" --server "http://$LISTEN" &
  fi
  wait "$SERVER_PID"
}

run_tests() {
  deps_test
  build -DHERALD_WERROR=ON
  cd "$BUILD_DIR"
  ctest --output-on-failure --timeout 600 "$@"
}

case "${1:-}" in
  run) run ;;
  test) shift; run_tests "$@" ;;
  deps) deps_test ;;
  build) shift; deps_run; build "$@" ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
