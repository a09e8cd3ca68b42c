#!/usr/bin/env bash
# Herald's one entry point on a fresh Debian 12 machine (run as root, or as a user with sudo).
#
#   packaging/bootstrap.sh run    install what is missing, build, run a single node (embedded
#                                 broker) on http://127.0.0.1:8080, and the console if there is
#                                 a display
#   packaging/bootstrap.sh test   install what is missing, then (warnings as errors) run every
#                                 test, the same suite under ASan+UBSan+LeakSanitizer, a fuzz
#                                 smoke, and packaging/deb-check.sh; fails if any fails (CI)
#   packaging/bootstrap.sh test-default  [ctest args]  only the normal suite (./build)
#   packaging/bootstrap.sh test-sanitize [ctest args]  only the sanitizer suite (./build-asan)
#   packaging/bootstrap.sh fuzz [seconds]  only the fuzz targets (clang, ./build-fuzz), each
#                                 for [seconds] (default $HERALD_FUZZ_SECONDS, or 60)
#   packaging/bootstrap.sh deps       only install what building and running need
#   packaging/bootstrap.sh test-deps  only install that and what the tests need
#   packaging/bootstrap.sh build      only configure and build (into ./build)
#   packaging/bootstrap.sh deb-check  build the Debian packages, lint, install, check and
#                                     purge them (root or sudo)
#
# Installing never stops a service of the machine's own: the tests start their own redis-server
# and nginx on free loopback ports.
# Environment: HERALD_BUILD_DIR (default ./build), HERALD_ASAN_BUILD_DIR (./build-asan),
# HERALD_FUZZ_BUILD_DIR (./build-fuzz), HERALD_LISTEN (default 127.0.0.1:8080).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${HERALD_BUILD_DIR:-$ROOT/build}"
ASAN_BUILD_DIR="${HERALD_ASAN_BUILD_DIR:-$ROOT/build-asan}"
FUZZ_BUILD_DIR="${HERALD_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
LISTEN="${HERALD_LISTEN:-127.0.0.1:8080}"

# What building needs, and what the tests need on top (real peers, not mocks).
BUILD_PACKAGES=(cmake ninja-build g++ make pkg-config qt6-base-dev qt6-websockets-dev
  qt6-charts-dev libqt6opengl6-dev qtkeychain-qt6-dev qt6-qpa-plugins libgl-dev libhiredis-dev libssl-dev
  libhttp-parser-dev help2man)
TEST_PACKAGES=(redis-server openssl nginx-light libnginx-mod-nchan xvfb xauth chromium ca-certificates
  haproxy python3-yaml python3-kubernetes docker-compose)
# What the man page test and packaging/deb-check.sh need (cpack's dpkg-shlibdeps, lintian,
# systemd-analyze, man).
TEST_PACKAGES+=(dpkg-dev lintian systemd man-db groff-base desktop-file-utils)
# tst_tls: Debian's Python as an independent wss:// client.
TEST_PACKAGES+=(python3 python3-websockets)
# tests/load/cluster_scale.py: redis-cli builds and inspects the local Redis Cluster.
TEST_PACKAGES+=(redis-tools)
# The fuzz targets: clang, its libFuzzer and sanitizer runtimes, and llvm-symbolizer for stacks.
FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev llvm-14)

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
  WANT_NODE=1 install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${FUZZ_PACKAGES[@]}"
  # playwright-core at the pinned version (drives Debian's chromium; downloads no browser).
  as_root bash "$ROOT/tests/integration/browser/install.sh"
  # The load tests' Node ws peer, at the version its package-lock.json pins.
  [ -f "$ROOT/tests/load/peers/node-ws/node_modules/ws/package.json" ] ||
    (cd "$ROOT/tests/load/peers/node-ws" && npm ci --no-audit --no-fund --loglevel=error)
  # The load tests' Socket.IO peer (socket.io, @socket.io/redis-adapter, redis), as pinned.
  [ -f "$ROOT/tests/load/peers/socketio/node_modules/@socket.io/redis-adapter/package.json" ] ||
    (cd "$ROOT/tests/load/peers/socketio" && npm ci --no-audit --no-fund --loglevel=error)
  # ws_conformance: Node's ws as an independent WebSocket client, at its pinned version.
  [ -f "$ROOT/tests/integration/ws_conformance/node_modules/ws/package.json" ] ||
    (cd "$ROOT/tests/integration/ws_conformance" && npm ci --no-audit --no-fund --loglevel=error)
}

build() { build_in "$BUILD_DIR" "$@"; }

build_in() {
  local dir=$1
  shift
  # `&&`: a suite runs as `suite || status=1`, where bash ignores set -e.
  cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" &&
    cmake --build "$dir" --parallel "$(nproc)"
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

# Each suite builds in its own directory and runs ctest there, keeping ctest's output (with its
# summary line) in <dir>/ctest.log. Returns non-zero if the build or a test failed.
suite_default() {
  rm -f "$BUILD_DIR/ctest.log"
  build_in "$BUILD_DIR" -DHERALD_WERROR=ON || return 1
  # Every herald-server a test starts runs its connections on 2 worker threads here and on 1 in
  # the sanitizer suite, so the whole suite passes with both (a test may still set its own).
  (cd "$BUILD_DIR" && HERALD_WORKERS=2 ctest --output-on-failure --timeout 600 "$@") 2>&1 | tee "$BUILD_DIR/ctest.log"
}

# The whole suite with gcc's ASan + UBSan + LeakSanitizer. Reports from the tests and from the
# herald-server/heraldctl processes they start fail it (the test `sanitizer_reports`).
suite_sanitize() {
  rm -f "$ASAN_BUILD_DIR/ctest.log"
  build_in "$ASAN_BUILD_DIR" -DHERALD_WERROR=ON -DHERALD_SANITIZE=ON || return 1
  # tst_image_root builds the container image's own (unsanitized) binaries: once, in the
  # default suite, is enough.
  (cd "$ASAN_BUILD_DIR" && HERALD_WORKERS=1 ctest --output-on-failure --timeout 900 -E '^tst_image_root$' "$@") 2>&1 |
    tee "$ASAN_BUILD_DIR/ctest.log"
}

# The libFuzzer targets (clang), each for [seconds] or HERALD_FUZZ_SECONDS (default 60), one per
# core at a time.
suite_fuzz() {
  export HERALD_FUZZ_SECONDS="${1:-${HERALD_FUZZ_SECONDS:-60}}"
  rm -f "$FUZZ_BUILD_DIR/ctest.log"
  build_in "$FUZZ_BUILD_DIR" -DHERALD_WERROR=ON -DHERALD_FUZZ=ON -DHERALD_BUILD_CONSOLE=OFF \
    -DCMAKE_CXX_COMPILER=clang++-14 || return 1
  (cd "$FUZZ_BUILD_DIR" && ctest --output-on-failure -L fuzz -j "$(nproc)") 2>&1 |
    tee "$FUZZ_BUILD_DIR/ctest.log"
}

# A suite's "N% tests passed, F tests failed out of T" as "T F"; nothing if it did not run.
summary_counts() {
  [ -f "$1/ctest.log" ] || return 0
  sed -n 's/^[0-9]*% tests passed, \([0-9]*\) tests failed out of \([0-9]*\)$/\2 \1/p' \
    "$1/ctest.log" | tail -n 1
}

# What CI runs: every suite, even after one failed, then one summary line over all of them in
# ctest's words, so that a ctest summary line stays the last thing printed and counts them all.
run_all_tests() {
  deps_test
  local status=0 dir counts t f total=0 failed=0
  suite_default "$@" || status=1
  suite_sanitize "$@" || status=1
  suite_fuzz || status=1
  local deb=0
  deb_check || { deb=1; status=1; }
  echo
  for dir in "$BUILD_DIR" "$ASAN_BUILD_DIR" "$FUZZ_BUILD_DIR"; do
    counts=$(summary_counts "$dir")
    if [ -z "$counts" ]; then
      echo "bootstrap: $(basename "$dir"): did not build or did not run (counted as a failed test)"
      counts="1 1"
    fi
    read -r t f <<<"$counts"
    echo "bootstrap: $(basename "$dir"): $((t - f)) of $t tests passed"
    total=$((total + t))
    failed=$((failed + f))
  done
  # The Debian package check counts as one more test.
  echo "bootstrap: deb-check: $((1 - deb)) of 1 tests passed"
  total=$((total + 1))
  failed=$((failed + deb))
  echo "$(((total - failed) * 100 / (total > 0 ? total : 1)))% tests passed, $failed tests failed out of $total"
  return "$status"
}

# The comment block at the top of this file, without its "# ".
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

case "${1:-}" in
  run) run ;;
  test) shift; run_all_tests "$@" ;;
  test-default) shift; deps_test; suite_default "$@" ;;
  test-sanitize) shift; deps_test; suite_sanitize "$@" ;;
  fuzz) shift; deps_test; suite_fuzz "$@" ;;
  deps) deps_run ;;
  test-deps) deps_test ;;
  build) shift; deps_run; build "$@" ;;
  deb-check) deps_test; build; deb_check ;;
  *) usage; exit 2 ;;
esac
