#!/usr/bin/env bash
# Builds what the container image ships and installs it into DESTDIR, as the Dockerfile's build
# stage does; run it outside Docker to get (and check) the same files.
#
#   packaging/docker/build-image-root.sh DESTDIR [BUILD_DIR]
#
# DESTDIR receives usr/bin/herald-server, usr/bin/heraldctl and usr/bin/herald-healthcheck.
# BUILD_DIR (default ./build-image) is kept, so a second run only rebuilds what changed.
# Needs the packages of build-packages.txt. Environment: HERALD_BUILD_JOBS (default: all cores);
# CMAKE_CXX_COMPILER_LAUNCHER=ccache is honoured by cmake itself.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DESTDIR="$(realpath -m "$1")"
BUILD_DIR="$(realpath -m "${2:-$ROOT/build-image}")"

# Release, no console (no widgets in a server image), no tests, no man pages; warnings stay
# warnings here so a newer compiler in some later base image does not break the image build.
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX=/usr \
  -DHERALD_BUILD_CONSOLE=OFF \
  -DHERALD_BUILD_TESTS=OFF \
  -DHERALD_WERROR=OFF \
  -DHERALD_MAN_PAGES=OFF
cmake --build "$BUILD_DIR" --parallel "${HERALD_BUILD_JOBS:-$(nproc)}"
# The programs only: not the systemd unit, sysusers entry and /etc/herald (component
# server_system), which belong to the Debian package.
for component in server ctl; do
  DESTDIR="$DESTDIR" cmake --install "$BUILD_DIR" --strip --component "$component"
done
install -D -m 0755 "$ROOT/packaging/docker/healthcheck.sh" "$DESTDIR/usr/bin/herald-healthcheck"
echo "build-image-root: installed into $DESTDIR:"
(cd "$DESTDIR" && find . -type f | sort)
