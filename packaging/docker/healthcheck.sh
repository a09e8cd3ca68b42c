#!/bin/bash
# The container's health check: GET PATH (default /healthz) from this node and exit 0 on an
# HTTP 200 answer, 1 otherwise. Plain bash (/dev/tcp), so the image needs no HTTP client package.
# The node's port comes from HERALD_LISTEN, the same variable herald-server reads.
#
#   herald-healthcheck [PATH]
set -u
path="${1:-/healthz}"
listen="${HERALD_LISTEN:-0.0.0.0:8080}"
port="${listen##*:}"
host="${listen%:*}"
host="${host#[}"
host="${host%]}"
# A wildcard listen address is reached over loopback.
case "$host" in "" | "*" | 0.0.0.0 | "::" | "$listen") host=127.0.0.1 ;; esac
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
status=""
IFS= read -r -t 5 status <&3 || true
case "$status" in
  "HTTP/1."?" 200 "*) exit 0 ;;
esac
echo "herald-healthcheck: GET $path on $host:$port answered \"${status%$'\r'}\"" >&2
exit 1
