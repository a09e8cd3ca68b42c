#!/usr/bin/python3
"""The whole comparison of docs/benchmarks.md in one command: Herald, nginx + nchan and the Node
ws peer (uncorked and corked) side by side, each server pinned to core 0 and herald-bench to
core 1, interleaved over R rounds, then a markdown table of medians (min-max) with ratios
against Herald. Herald alone also runs the slow-reader scenario; the two-node latency scenario
(two nodes sharing a real redis-server) runs for Herald and, right after it in the same round,
for Socket.IO with @socket.io/redis-adapter (peer `socketio`, in the latency table only).

    /usr/bin/python3 tests/load/run_bench.py [--build-dir build] [--rounds 3]
        [--sizes 19000,1000] [--peers herald,nchan,node,node-cork,socketio] [--budget-min 75]

Installs what the peers need when it is missing (Debian's nginx-light, libnginx-mod-nchan,
nodejs, npm; `npm ci` of the pinned ws, and of the pinned socket.io, @socket.io/redis-adapter
and redis), which needs root; fails with a clear message otherwise.
Every server listens on 127.0.0.1 and is stopped afterwards; the run stops at --budget-min.
Results: <out>/results.jsonl (every scenario object) and <out>/table.md.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ROOT = os.path.abspath(os.path.join(benchlib.HERE, "..", ".."))
COLUMNS = {"herald": "Herald", "herald-w1": "Herald, 1 worker (1 core)",
           "herald-w2": "Herald, 2 workers (2 cores)",
           "nchan": "nginx + nchan", "node": "Node ws", "node-cork": "Node ws corked",
           "socketio": "Socket.IO + redis-adapter"}
# Peers that only run the two-node latency case (not the population table).
LATENCY_ONLY = ("socketio",)

# (scenario, field, row title, scale, format)
ROWS = [
    ("fanout", "deliveries_per_s", "fan-out bursts, deliveries/s", 1, "rate"),
    ("fanout", "server_cpu_us_per_delivery", "server CPU per delivery (us)", 1, "num"),
    ("broadcast", "last_ms_median", "one message: the last subscriber has it after (ms)", 1, "num"),
    ("broadcast", "first_ms_median", "one message: the first subscriber has it after (ms)", 1, "num"),
    ("broadcast", "p50_ms_median", "one message: the median subscriber has it after (ms)", 1, "num"),
    ("idle", "rss_bytes_per_connection", "idle server RSS per connection (KB)", 1 / 1024, "num"),
    ("connect", "connections_per_s", "connections/s (subscribed)", 1, "rate"),
    ("connect", "server_cpu_us_per_connect", "server CPU per connect (us)", 1, "num"),
    ("teardown", "server_cpu_s", "server CPU to tear down every connection (s)", 1, "num"),
    ("teardown", "seconds_to_zero", "teardown: time until the server counts 0 (s)", 1, "num"),
    ("fanout", "server_rss_kb_peak", "server RSS peak during the bursts (MB)", 1 / 1024, "num"),
    ("fanout", "client_cpu_s", "herald-bench's own CPU during the bursts (s)", 1, "num"),
]


def fmt(value, kind):
    if value is None:
        return "-"
    if kind == "rate":
        if value >= 1e6:
            return f"{value / 1e6:.2f}M"
        if value >= 1e3:
            return f"{value / 1e3:.0f}k" if value >= 1e4 else f"{value / 1e3:.1f}k"
        return f"{value:.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def ensure_peers(peers):
    """Installs the peers' tools when missing (root); raises BenchError with what to do."""
    packages = []
    if "nchan" in peers and not benchlib.nchan_available():
        packages += ["nginx-light", "libnginx-mod-nchan"]
    if any(p.startswith("node") or p == "socketio" for p in peers):
        if not shutil.which("node"):
            packages.append("nodejs")
        if not shutil.which("npm"):
            packages.append("npm")
    if packages:
        if os.geteuid() != 0:
            raise benchlib.BenchError(f"missing {' '.join(packages)}: run as root, or "
                                      f"apt-get install {' '.join(packages)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends"] + packages,
                       check=True, env=env)
        # Installing may start the system's own nginx; the benchmark starts its own.
        subprocess.run(["service", "nginx", "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    if any(p.startswith("node") for p in peers) and not benchlib.node_available():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=benchlib.NODE_DIR, check=True)
    if "socketio" in peers and not benchlib.socketio_available():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=benchlib.SOCKETIO_DIR, check=True)
    if "nchan" in peers and not benchlib.nchan_available():
        raise benchlib.BenchError(f"nchan module still missing ({benchlib.NCHAN_MODULE})")
    if any(p.startswith("node") for p in peers) and not benchlib.node_available():
        raise benchlib.BenchError("the Node ws peer is still not installed")
    if "socketio" in peers and not benchlib.socketio_available():
        raise benchlib.BenchError(f"the Socket.IO peer is still not installed ({benchlib.SOCKETIO_DIR})")


def start_peer(peer, log_dir):
    # Herald on one core keeps its connections on the main thread (workers 0, what it does on a
    # one-core machine); herald-w1 adds one worker thread on that same core; herald-w2 has 2
    # workers and both cores, so it shares the second core with the load client.
    if peer == "herald":
        return benchlib.start_herald(BIN, ["--workers", "0"], core=0, log_dir=log_dir)
    if peer == "herald-w1":
        return benchlib.start_herald(BIN, ["--workers", "1"], core=0, log_dir=log_dir, name=peer)
    if peer == "herald-w2":
        return benchlib.start_herald(BIN, ["--workers", "2"], core=None, log_dir=log_dir, name=peer)
    if peer == "nchan":
        return benchlib.start_nchan(core=0, log_dir=log_dir)
    return benchlib.start_node(peer == "node-cork", core=0, log_dir=log_dir)


def node_version():
    try:
        return subprocess.run(["node", "--version"], stdout=subprocess.PIPE, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return f"{os.cpu_count()} cores ({model}), Linux {os.uname().release}, load average at start {load}"


def table(results, size, peers):
    cols = [p for p in peers]
    lines = [f"| @{size:,} subscribers: median (min-max), ratio to Herald | "
             + " | ".join(COLUMNS[c] for c in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for scenario, field, title, scale, kind in ROWS:
        cells = []
        herald_median = None
        for c in cols:
            runs = [r for r in results if r.get("column") == c and r.get("size") == size
                    and r.get("scenario") == scenario and isinstance(r.get(field), (int, float))]
            if not runs:
                cells.append("-")
                continue
            values = [r[field] * scale for r in runs]
            med = statistics.median(values)
            if c == "herald":
                herald_median = med
            cell = fmt(med, kind)
            if len(values) > 1:
                cell += f" ({fmt(min(values), kind)}-{fmt(max(values), kind)})"
            if any(r.get("complete") is False or r.get("failed", 0) > 0
                   or r.get("count_reached_zero") is False for r in runs):
                cell += " !"
            if c != "herald" and herald_median:
                cell += f", {med / herald_median:.2g}x"
            cells.append(cell)
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def extras_table(results):
    lines = []
    lat = [r for r in results if r.get("scenario") == "latency"]
    if lat:
        lines += ["| 2 nodes + one redis-server each, 1,000 msg/s on A: median of R (min-max), ratio "
                  "to Herald | receivers | p50 ms | p99 ms | p99.9 ms | publishes answered 2xx / sent "
                  "| delivered / expected |",
                  "|---|---|---|---|---|---|---|"]
        for receivers in sorted({r["receivers"] for r in lat}):
            herald = {}
            for column in [c for c in COLUMNS if any(r.get("column") == c for r in lat)]:
                runs = [r for r in lat if r["receivers"] == receivers and r.get("column") == column]
                if not runs:
                    continue
                cells = []
                for k in ("p50_ms", "p99_ms", "p999_ms"):
                    values = [r[k] for r in runs if isinstance(r.get(k), (int, float))]
                    if not values:
                        cells.append("-")
                        continue
                    med = statistics.median(values)
                    cell = f"{fmt(med, 'num')} ({fmt(min(values), 'num')}-{fmt(max(values), 'num')})"
                    if column == "herald":
                        herald[k] = med
                    elif herald.get(k):
                        ratio = med / herald[k]
                        cell += f", {ratio:.2g}x" if ratio < 100 else f", {ratio:.0f}x"
                    cells.append(cell)
                answered = sum(r.get("published", 0) for r in runs)
                sent = answered + sum(r.get("failed_publishes", 0) for r in runs)
                delivered = sum(r.get("deliveries", 0) for r in runs)
                expected = sum(r.get("expected", 0) for r in runs)
                mark = " !" if any(r.get("complete") is not True for r in runs) else ""
                lines.append(f"| {COLUMNS[column]}, {len(runs)} run(s) | {receivers} | "
                             + " | ".join(cells) + f" | {answered:,} / {sent:,} "
                             f"| {delivered:,} / {expected:,}{mark} |")
    slow = [r for r in results if r.get("scenario") == "slow"]
    if slow:
        lines += ["", "| Herald, one of 50 subscribers stops reading (16 KB x 200 msg/s for 6 s) | server RSS growth (MB) "
                  "| others' p99 ms | slow reader closed with |", "|---|---|---|---|"]
        for r in slow:
            lines.append(f"| {r.get('label', '')} | {(r['server_rss_kb_peak'] - r['server_rss_kb_before']) / 1024:.0f} "
                         f"| {fmt(r['others_p99_ms'], 'num')} | "
                         f"{r['slow_close_code'] if r['slow_closed_by_server'] else 'not closed'} |")
    return "\n".join(lines)


def main():
    global BIN
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="19000,1000")
    parser.add_argument("--peers", default="herald,nchan,node,node-cork,socketio",
                        help="socketio runs the two-node latency case only")
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--bursts", type=int, default=2)
    parser.add_argument("--scenarios", default="connect,idle,broadcast,fanout",
                        help="population scenarios run for every server")
    parser.add_argument("--no-extras", action="store_true",
                        help="skip the slow and the two-node latency runs")
    parser.add_argument("--budget-min", type=float, default=75)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    BIN = os.path.join(os.path.abspath(args.build_dir), "bin")
    peers = [p for p in args.peers.split(",") if p]
    for p in peers:
        if p not in COLUMNS:
            sys.exit(f"run_bench: unknown peer {p} ({', '.join(COLUMNS)})")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    out = args.out or os.path.join(os.path.abspath(args.build_dir), "bench-results",
                                   time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out, exist_ok=True)
    deadline = time.monotonic() + args.budget_min * 60
    try:
        ensure_peers(peers)
        for tool in ("herald-server", "herald-bench"):
            if not os.access(os.path.join(BIN, tool), os.X_OK):
                raise benchlib.BenchError(f"{BIN}/{tool} missing: cmake --build {args.build_dir} "
                                          "--target herald-server herald-bench")
        if (os.cpu_count() or 1) < 2:
            print("run_bench: fewer than 2 cores: server and client share one", file=sys.stderr)
    except (benchlib.BenchError, subprocess.CalledProcessError) as e:
        sys.exit(f"run_bench: {e}")

    info = machine()
    print(f"run_bench: {info}; results in {out}", file=sys.stderr)
    results = []
    incomplete = []
    jsonl = open(os.path.join(out, "results.jsonl"), "w")

    def record(res, **extra):
        for r in res:
            r.update(extra)
            results.append(r)
            jsonl.write(json.dumps(r) + "\n")
        jsonl.flush()

    def remaining():
        return deadline - time.monotonic()

    for rnd in range(args.rounds):
        for size in sizes:
            # Interleaved, and each round starts with another server, so no one always goes first.
            population = [p for p in peers if p not in LATENCY_ONLY]
            order = population[rnd % len(population):] + population[:rnd % len(population)] \
                if population else []
            for peer in order:
                if remaining() < 60:
                    incomplete.append(f"{peer}@{size} round {rnd + 1}: budget spent")
                    continue
                server = start_peer(peer, out)
                try:
                    kind = "node" if peer.startswith("node") else \
                        "herald" if peer.startswith("herald") else peer
                    rc, res = benchlib.run_bench(BIN, [
                        "--peer", kind, "--target", f"127.0.0.1:{server.port}",
                        "--server-pid", ",".join(map(str, server.pids())), "--n", str(size),
                        "--scenarios", args.scenarios, "--burst", str(args.burst),
                        "--bursts", str(args.bursts), "--broadcasts", "3", "--timeout", "300",
                        "--label", f"{peer}@{size}#{rnd + 1}"], timeout=min(remaining(), 1500))
                finally:
                    server.stop()
                if rc != 0:
                    incomplete.append(f"{peer}@{size} round {rnd + 1}: herald-bench exit {rc}")
                record(res, column=peer, size=size, round=rnd + 1)
        if args.no_extras or remaining() < 120:
            continue
        if "herald" in peers:
            server = benchlib.start_herald(BIN, ["--workers", "0"], core=0, log_dir=out)
            try:
                rc, res = benchlib.run_bench(BIN, [
                    "--target", f"127.0.0.1:{server.port}", "--server-pid", str(server.proc.pid),
                    "--n", "50", "--scenarios", "slow", "--slow-rate", "200", "--slow-payload", "16384",
                    "--duration", "6",
                    "--timeout", "120", "--label", f"round {rnd + 1}"], timeout=min(remaining(), 200))
            finally:
                server.stop()
            record(res, column="herald", round=rnd + 1)
        # The two-node case: Herald, then Socket.IO with its Redis adapter, each pair on a fresh
        # redis-server, nodes and Redis pinned to core 0 as the servers above.
        clusters = []
        if "herald" in peers:
            clusters.append(("herald", lambda port, n: benchlib.start_herald(
                BIN, ["--redis-url", f"redis://127.0.0.1:{port}", "--node-id", n, "--workers", "0"],
                core=0,
                log_dir=out, name=f"herald-{n}")))
        if "socketio" in peers:
            clusters.append(("socketio", lambda port, n: benchlib.start_socketio(
                port, n, core=0, log_dir=out)))
        for column, start_node in clusters:
            if remaining() < 60:
                incomplete.append(f"{column} latency round {rnd + 1}: budget spent")
                continue
            servers = []
            try:
                redis = benchlib.start_redis(core=0, log_dir=out)
                servers.append(redis)
                for n in ("a", "b"):
                    servers.append(start_node(redis.port, n))
                nodes = servers[1:]
                for receivers in (20, 200):
                    rc, res = benchlib.run_bench(BIN, [
                        "--peer", column, "--target", f"127.0.0.1:{nodes[0].port}",
                        "--target-b", f"127.0.0.1:{nodes[1].port}",
                        "--server-pid", str(nodes[0].proc.pid), "--server-pid-b", str(nodes[1].proc.pid),
                        "--scenarios", "latency", "--receivers", str(receivers), "--rate", "1000",
                        "--duration", "10", "--timeout", "120", "--label", f"round {rnd + 1}"],
                        timeout=min(remaining(), 200))
                    if rc != 0:
                        incomplete.append(f"{column} latency {receivers} round {rnd + 1}: "
                                          f"herald-bench exit {rc}")
                    record(res, column=column, round=rnd + 1)
            except benchlib.BenchError as e:
                incomplete.append(f"{column} latency round {rnd + 1}: {e}")
                print(f"run_bench: {column} latency: {e}", file=sys.stderr)
            finally:
                for s in reversed(servers):
                    s.stop()
    jsonl.close()

    text = [f"Machine: {info}.", f"Command: /usr/bin/python3 tests/load/run_bench.py --rounds {args.rounds} "
            f"--sizes {args.sizes} --peers {args.peers} --scenarios {args.scenarios}", ""]
    if "socketio" in peers:
        text += [f"Socket.IO peer: {benchlib.socketio_versions()}, Node {node_version()}.", ""]
    population = [p for p in peers if p not in LATENCY_ONLY]
    for size in sizes if population else []:
        text += [table(results, size, population), ""]
    extras = extras_table(results)
    if extras:
        text += [extras, ""]
    if incomplete:
        text += ["Incomplete: " + "; ".join(incomplete), ""]
    text.append("`!`: some run of that cell did not complete (see results.jsonl).")
    report = "\n".join(text)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(report + "\n")
    print(report)
    return 1 if incomplete else 0


if __name__ == "__main__":
    sys.exit(main())
