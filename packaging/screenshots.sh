#!/usr/bin/env bash
# Starts a small real cluster (redis + 3 herald-server nodes + a few hundred WebSocket clients
# ramping up), opens herald-console on it under Xvfb, and saves the window as docs/console.png.
# One node is killed halfway so the picture also shows how a dead node is kept as "down".
#
#   packaging/screenshots.sh [OUTPUT.png]      (default docs/console.png)
#
# Environment: HERALD_BUILD_DIR (default ./build), SHOT_SECONDS (default 24).
# Needs: redis-server, xvfb-run (package xvfb), python3. Uses only loopback.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${HERALD_BUILD_DIR:-$ROOT/build}/bin"
OUT="${1:-$ROOT/docs/console.png}"
SECONDS_TOTAL="${SHOT_SECONDS:-24}"
TOKEN="screenshot-admin-token"
JWT_SECRET="screenshot-jwt-secret"
WORK="$(mktemp -d)"
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

for tool in redis-server xvfb-run python3; do
  command -v "$tool" >/dev/null || { echo "screenshots: $tool is missing" >&2; exit 1; }
done
[ -x "$BIN/herald-server" ] && [ -x "$BIN/herald-console" ] || { echo "screenshots: build first (no $BIN/herald-server or herald-console)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # url
  for _ in $(seq 100); do
    python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "screenshots: $1 did not answer" >&2; exit 1
}

REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
PIDS+=($!)

declare -A PORT
for node in n1 n2 n3; do
  PORT[$node]="$(free_port)"
  "$BIN/herald-server" --listen "127.0.0.1:${PORT[$node]}" --node-id "$node" --admin-tokens "$TOKEN" --jwt-secret "$JWT_SECRET" \
    --redis-url "redis://127.0.0.1:$REDIS_PORT" >"$WORK/$node.log" 2>&1 &
  PIDS+=($!)
  if [ "$node" = n3 ]; then N3_PID=$!; fi
done
for node in n1 n2 n3; do wait_http "http://127.0.0.1:${PORT[$node]}/healthz"; done

# WebSocket clients in plain Python (RFC 6455 handshake + one masked subscribe frame), ramping
# up over the run so the chart has a shape. Each node gets its own share.
cat >"$WORK/clients.py" <<'PY'
import base64, hashlib, hmac, json, os, socket, sys, time, random
port, count, ramp, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
secret = os.environ["JWT_SECRET"].encode()
def b64(raw): return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
def jwt(user):
    # Signed-in users on /private, some with two tabs open, so "unique users" means something.
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": user, "exp": int(time.time()) + 3600}).encode())
    sig = b64(hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"
streams = ["news", "promotional", "sports", "weather", "orders"]
def frame(text):
    data = text.encode(); mask = os.urandom(4)
    head = bytes([0x81, 0x80 | len(data)]) if len(data) < 126 else bytes([0x81, 0xFE]) + len(data).to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))
socks = []
for i in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    path = "/public" if i % 4 == 0 else "/private?token=" + jwt(f"u{random.randrange(count)}")
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    s.recv(4096)
    picked = random.sample(streams, k=1 + i % 3)
    s.sendall(frame('{"event":"subscribe","streams":[' + ",".join(f'"{n}"' for n in picked) + ']}'))
    s.setblocking(False)
    socks.append(s)
    time.sleep(ramp / count)
end = time.time() + hold
while time.time() < end:
    for s in socks:
        try: s.recv(65536)
        except BlockingIOError: pass
        except OSError: pass
    time.sleep(0.2)
PY
JWT_SECRET="$JWT_SECRET" python3 "$WORK/clients.py" "${PORT[n1]}" 160 12 "$SECONDS_TOTAL" & PIDS+=($!)
JWT_SECRET="$JWT_SECRET" python3 "$WORK/clients.py" "${PORT[n2]}" 90 16 "$SECONDS_TOTAL" & PIDS+=($!)
JWT_SECRET="$JWT_SECRET" python3 "$WORK/clients.py" "${PORT[n3]}" 60 8 "$SECONDS_TOTAL" & PIDS+=($!)

# n3 dies without a goodbye halfway through: the console keeps it listed as down.
( sleep $((SECONDS_TOTAL / 2)); kill -KILL "$N3_PID" 2>/dev/null || true ) &
PIDS+=($!)

mkdir -p "$(dirname "$OUT")"
# A private settings dir, so no saved profile of the user's own interferes.
XDG_CONFIG_HOME="$WORK/config" xvfb-run -a -s "-screen 0 1400x900x24" \
  "$BIN/herald-console" --server "http://127.0.0.1:${PORT[n1]}" --token "$TOKEN" \
  --screenshot "$OUT" --screenshot-after "$SECONDS_TOTAL"
echo "screenshots: wrote $OUT"
