#!/usr/bin/env bash
# Builds Herald's Debian packages and checks them the way an operator meets them:
#   1. `cpack -G DEB` in the build directory writes herald-server, herald-console, heraldctl;
#   2. their contents, conffile and library dependencies (dpkg-shlibdeps) are as intended;
#   3. lintian reports no error (its warnings are printed);
#   4. `apt-get install ./*.deb` installs them on this machine; the installed programs print
#      their version from /usr/bin, the herald user exists and may read /etc/herald/herald.ini,
#      `systemd-analyze verify` accepts the unit (and its offline security score stays low), the
#      man pages are found, and a node run as herald from the installed config serves and stops;
#   5. `apt-get purge` removes them again (and the herald user, when this check created it), so
#      the machine is left as it was.
#
#   packaging/deb-check.sh [BUILD_DIR]      (default $HERALD_BUILD_DIR, else ./build)
#
# Builds and lints as the calling user; installing, running the node as herald and purging need
# root (run as root, as CI does, or with sudo). Needs the tools bootstrap.sh's test-deps install
# (dpkg-dev, lintian, systemd, help2man, man-db, desktop-file-utils). Refuses to run when Herald
# packages are already installed, so it never replaces or removes an operator's installation.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$(realpath -m "${1:-${HERALD_BUILD_DIR:-$ROOT/build}}")"
PACKAGES_DIR="$BUILD_DIR/packages"
WORK="$(mktemp -d)"
INSTALLED=0
NODE_PID=""
# Debian keeps a package's system user after a purge; this check removes the one it made.
HAD_USER=0
getent passwd herald >/dev/null && HAD_USER=1

step() { echo "deb-check: $*"; }
fail() { echo "deb-check: FAILED: $*" >&2; exit 1; }
# Commands that need root run as "${AS_ROOT[@]}" command... (a prefix, not a function, so a
# command started in the background is the one $! names).
AS_ROOT=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || fail "installing the packages needs root: run as root or install sudo"
  AS_ROOT=(sudo)
fi

cleanup() {
  local status=$?
  if [ -n "$NODE_PID" ]; then "${AS_ROOT[@]}" kill -KILL "$NODE_PID" 2>/dev/null || true; fi
  if [ "$INSTALLED" = 1 ]; then
    step "removing the packages again (apt-get purge)"
    "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get purge -y -q -o DPkg::Lock::Timeout=300 "${PACKAGE_NAMES[@]}" >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log" >&2; status=1; }
  fi
  if [ "$HAD_USER" = 0 ] && getent passwd herald >/dev/null; then
    "${AS_ROOT[@]}" userdel herald || status=1
    if getent group herald >/dev/null; then "${AS_ROOT[@]}" groupdel herald || status=1; fi
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

for tool in cmake cpack dpkg-deb dpkg-shlibdeps lintian systemd-analyze man apt-get setpriv; do
  command -v "$tool" >/dev/null || fail "$tool is missing (packaging/bootstrap.sh test-deps installs it)"
done
[ -f "$BUILD_DIR/CPackConfig.cmake" ] || fail "no configured build in $BUILD_DIR (packaging/bootstrap.sh build)"

PACKAGE_NAMES=(herald-server heraldctl)
if grep -q '^HERALD_BUILD_CONSOLE:BOOL=ON' "$BUILD_DIR/CMakeCache.txt"; then
  PACKAGE_NAMES+=(herald-console)
fi
for package in "${PACKAGE_NAMES[@]}"; do
  if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "installed"; then
    fail "$package is already installed here; this check installs and purges its own build, so purge it first (apt-get purge ${PACKAGE_NAMES[*]})"
  fi
done

step "building $BUILD_DIR (binaries and man pages up to date)"
cmake --build "$BUILD_DIR" >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; fail "build"; }
VERSION="$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$BUILD_DIR/CPackConfig.cmake")"
[ -n "$VERSION" ] || fail "no CPACK_PACKAGE_VERSION in $BUILD_DIR/CPackConfig.cmake"

step "cpack -G DEB"
rm -rf "$PACKAGES_DIR"
(cd "$BUILD_DIR" && cpack -G DEB) >"$WORK/cpack.log" 2>&1 || { cat "$WORK/cpack.log" >&2; fail "cpack"; }
grep '^CPack: - package' "$WORK/cpack.log"
DEBS=()
for package in "${PACKAGE_NAMES[@]}"; do
  deb="$(ls "$PACKAGES_DIR/${package}_${VERSION}_"*.deb 2>/dev/null | head -1)"
  [ -n "$deb" ] || fail "cpack wrote no $package package (see $PACKAGES_DIR)"
  DEBS+=("$deb")
done

step "package contents, conffile and dependencies"
deb_of() { local p; for p in "${DEBS[@]}"; do case "$(basename "$p")" in "$1"_*) echo "$p";; esac; done; }
expect_files() { # package path...
  local deb listing path
  deb="$(deb_of "$1")"; shift
  listing="$(dpkg-deb -c "$deb" | awk '{print $6}')"
  for path in "$@"; do
    grep -qx "\\.$path" <<<"$listing" || fail "$(basename "$deb") lacks $path"
  done
}
expect_files herald-server /usr/bin/herald-server /usr/lib/systemd/system/herald-server.service \
  /usr/lib/sysusers.d/herald-server.conf /etc/herald/herald.ini \
  /usr/share/man/man1/herald-server.1.gz /usr/share/doc/herald-server/copyright
expect_files heraldctl /usr/bin/heraldctl /usr/share/man/man1/heraldctl.1.gz
if [[ " ${PACKAGE_NAMES[*]} " == *" herald-console "* ]]; then
  expect_files herald-console /usr/bin/herald-console /usr/share/man/man1/herald-console.1.gz \
    /usr/share/applications/herald-console.desktop /usr/share/metainfo/herald-console.appdata.xml \
    /usr/share/icons/hicolor/scalable/apps/herald-console.svg
fi
dpkg-deb --ctrl-tarfile "$(deb_of herald-server)" | tar -xO ./conffiles | grep -qx /etc/herald/herald.ini \
  || fail "herald-server does not mark /etc/herald/herald.ini as a conffile"
for deb in "${DEBS[@]}"; do
  depends="$(dpkg-deb -f "$deb" Depends)"
  # dpkg-shlibdeps ran when the Qt and C libraries are there with versions.
  grep -q 'libqt6core6 (>= ' <<<"$depends" && grep -q 'libc6 (>= ' <<<"$depends" \
    || fail "$(basename "$deb"): Depends lacks the shared libraries (dpkg-shlibdeps): $depends"
  echo "  $(basename "$deb"): Depends: $depends"
done

step "lintian"
if ! lintian --fail-on error "${DEBS[@]}" >"$WORK/lintian.log" 2>&1; then
  cat "$WORK/lintian.log" >&2
  fail "lintian reports errors (or did not run)"
fi
grep -v 'running with root privileges' "$WORK/lintian.log" || echo "  no findings"

step "apt-get install ${DEBS[*]}"
INSTALLED=1
"${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q -o DPkg::Lock::Timeout=300 "${DEBS[@]}" \
  >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; fail "apt-get install"; }

step "the installed programs"
out="$(/usr/bin/herald-server --version)" || fail "/usr/bin/herald-server --version exited $?"
echo "  $out"
[ "$out" = "herald-server $VERSION (protocol 1)" ] || fail "herald-server --version printed \"$out\""
out="$(/usr/bin/heraldctl --version)" || fail "/usr/bin/heraldctl --version exited $?"
echo "  $out"
grep -q "^heraldctl $VERSION" <<<"$out" || fail "heraldctl --version printed \"$out\""
if [ -x /usr/bin/herald-console ]; then
  # No display: --version must not need one.
  out="$(env -u DISPLAY -u WAYLAND_DISPLAY /usr/bin/herald-console --version)" \
    || fail "/usr/bin/herald-console --version exited $? (without a display)"
  echo "  $out"
  [ "$out" = "herald-console $VERSION" ] || fail "herald-console --version printed \"$out\""
  if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate /usr/share/applications/herald-console.desktop || fail "desktop entry"
  fi
fi
for page in "${PACKAGE_NAMES[@]}"; do
  path="$(man -w "$page")" || fail "man -w $page finds no page"
  [[ "$path" == /usr/share/man/* ]] || fail "man $page is $path, not the package's"
done
echo "  man pages: $(man -w "${PACKAGE_NAMES[@]}" | tr '\n' ' ')"

step "the herald user and the configuration's permissions"
getent passwd herald >/dev/null || fail "no herald user after install (systemd-sysusers)"
perms="$(stat -c '%U:%G %a' /etc/herald/herald.ini)"
echo "  herald: $(getent passwd herald); /etc/herald/herald.ini $perms"
[ "$perms" = "root:herald 640" ] || fail "/etc/herald/herald.ini is $perms, expected root:herald 640"

step "systemd-analyze verify herald-server.service"
UNIT=/usr/lib/systemd/system/herald-server.service
systemd-analyze verify "$UNIT" >"$WORK/verify.log" 2>&1 || { cat "$WORK/verify.log" >&2; fail "systemd-analyze verify"; }
if [ -s "$WORK/verify.log" ]; then cat "$WORK/verify.log" >&2; fail "systemd-analyze verify printed warnings"; fi
echo "  accepted"
# The hardening options, scored offline (shown 0-10, thresholds in tenths: 20 is 2.0; an
# unhardened service scores 9.6, this unit 1.4).
systemd-analyze security --offline=yes --threshold=20 "$UNIT" >"$WORK/security.log" 2>&1 \
  || { tail -5 "$WORK/security.log" >&2; fail "systemd-analyze security: exposure above 2.0"; }
echo "  $(grep 'Overall exposure' "$WORK/security.log")"

step "a node run as herald from the installed configuration"
# The service's user and config (setpriv execs the node, so the signal reaches it); a free
# loopback port instead of the config's 0.0.0.0:8080.
"${AS_ROOT[@]}" setpriv --reuid=herald --regid=herald --init-groups -- \
  /usr/bin/herald-server --config /etc/herald/herald.ini --listen 127.0.0.1:0 \
  >"$WORK/node.out" 2>"$WORK/node.err" &
NODE_PID=$!
url=""
for _ in $(seq 200); do
  url="$(sed -n 's/^herald-server listening on \(http:[^ ]*\)$/\1/p' "$WORK/node.out")"
  [ -n "$url" ] && break
  [ -e "/proc/$NODE_PID" ] || { cat "$WORK/node.err" >&2; fail "the node exited at start"; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$WORK/node.err" >&2; fail "the node did not say where it listens"; }
# The installed heraldctl talks to it with the example configuration's API token.
stats="$(/usr/bin/heraldctl --server "$url" --token change-me-api --json stats)" \
  || fail "heraldctl stats against the installed node failed"
grep -q '"web-1"' <<<"$stats" || fail "the node did not read /etc/herald/herald.ini (node_id web-1): $stats"
echo "  $url serves node web-1 (heraldctl stats)"
"${AS_ROOT[@]}" kill -TERM "$NODE_PID"
status=0
wait "$NODE_PID" || status=$?
NODE_PID=""
[ "$status" = 0 ] || fail "the node exited $status after SIGTERM"

step "apt-get purge"
INSTALLED=0
"${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get purge -y -q -o DPkg::Lock::Timeout=300 "${PACKAGE_NAMES[@]}" \
  >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log" >&2; fail "apt-get purge"; }
for package in "${PACKAGE_NAMES[@]}"; do
  if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "installed"; then fail "$package still installed"; fi
done
[ ! -e /etc/herald/herald.ini ] || fail "/etc/herald/herald.ini survived the purge"
if dpkg-statoverride --list /etc/herald/herald.ini >/dev/null; then fail "the statoverride survived the purge"; fi
step "passed"
