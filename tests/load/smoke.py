#!/usr/bin/python3
"""Smoke run of herald-bench (ctest load_smoke): every scenario against a real herald-server (and
a real redis-server for the two-node `latency` scenario), then the peers when they are installed
(the Socket.IO pair through its Redis adapter: `latency` only), with tiny sizes. Checks that each result is produced and adds up (everything expected delivered,
the slow reader closed with 4009); it checks no timing.

    /usr/bin/python3 tests/load/smoke.py --bin-dir build/bin
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

N = 50
failures = []
passed = 0


def check(label, condition, detail=""):
    global passed
    if condition:
        passed += 1
    else:
        failures.append(f"{label}: {detail}")
        print(f"FAIL {label}: {detail}", file=sys.stderr)


def by_scenario(results):
    return {r.get("scenario"): r for r in results}


def check_population(who, r, rc, slow=False):
    r = by_scenario(r)
    check(f"{who} exit code", rc == 0, f"herald-bench exited {rc}")
    c = r.get("connect", {})
    check(f"{who} connect", c.get("connected") == N and c.get("failed") == 0
          and c.get("connections_per_s", 0) > 0 and c.get("server_cpu_s", -1) >= 0, c)
    i = r.get("idle", {})
    check(f"{who} idle", i.get("n") == N and i.get("complete") is True
          and isinstance(i.get("rss_bytes_per_connection"), (int, float))
          and i.get("server_cpu_percent_idle", -1) >= 0, i)
    b = r.get("broadcast", {})
    check(f"{who} broadcast", b.get("complete") is True and b.get("delivered") == [N, N]
          and 0 <= b.get("first_ms_median", -1) <= b.get("last_ms_median", -1), b)
    f = r.get("fanout", {})
    check(f"{who} fanout", f.get("complete") is True and f.get("published") == 40
          and f.get("deliveries") == f.get("expected") == N * 40 and f.get("deliveries_per_s", 0) > 0,
          f)
    if slow:
        s = r.get("slow", {})
        check(f"{who} slow", s.get("complete") is True and s.get("published", 0) > 0
              and s.get("deliveries") == s.get("expected") == s["published"] * (N - 1)
              and s.get("slow_closed_by_server") is True and s.get("slow_close_code") == 4009, s)
    t = r.get("teardown", {})
    check(f"{who} teardown", t.get("count_reached_zero") is True and t.get("server_cpu_s", -1) >= 0, t)


def population_args(server, extra=()):
    return ["--target", f"127.0.0.1:{server.port}", "--server-pid", ",".join(map(str, server.pids())),
            "--n", str(N), "--burst", "20", "--bursts", "2", "--broadcasts", "2", "--settle", "0.2",
            "--timeout", "60", "--procs", "2"] + list(extra)


def check_cluster(who, bin_dir, kind, start_node, logs, servers):
    """Two nodes through a real Redis: publish on A, receive on A and B."""
    redis = benchlib.start_redis(core=None, log_dir=logs)
    servers.append(redis)
    a = start_node(redis.port, "a")
    servers.append(a)
    b = start_node(redis.port, "b")
    servers.append(b)
    rc, res = benchlib.run_bench(bin_dir, [
        "--peer", kind, "--target", f"127.0.0.1:{a.port}", "--target-b", f"127.0.0.1:{b.port}",
        "--server-pid", str(a.proc.pid), "--server-pid-b", str(b.proc.pid),
        "--scenarios", "latency", "--receivers", "10", "--rate", "200", "--duration", "2",
        "--timeout", "90"], timeout=200, core=None)
    lat = by_scenario(res).get("latency", {})
    check(f"{who} cluster exit code", rc == 0, f"herald-bench exited {rc}")
    check(f"{who} cluster latency", lat.get("complete") is True and lat.get("published") == 400
          and lat.get("deliveries") == lat.get("expected") == 4000
          and lat.get("deliveries_a") == lat.get("deliveries_b") == 2000
          and 0 <= lat.get("p50_ms", -1) <= lat.get("p99_ms", -1), lat)
    for s in (a, b, redis):
        s.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", default=os.environ.get("HERALD_BIN_DIR", "build/bin"))
    args = parser.parse_args()
    bin_dir = args.bin_dir
    servers = []
    logs = tempfile.TemporaryDirectory(prefix="herald-smoke-")
    try:
        # One node: every population scenario, across two worker processes. A small outbound
        # limit makes the slow reader's closing quick.
        h = benchlib.start_herald(bin_dir, ["--max-outbound-bytes", "262144"], core=None,
                                 log_dir=logs.name)
        servers.append(h)
        rc, res = benchlib.run_bench(bin_dir, population_args(h, [
            "--scenarios", "connect,idle,broadcast,fanout,slow", "--duration", "3"]),
            timeout=240, core=None)
        check_population("herald", res, rc, slow=True)
        h.stop()

        # Two nodes through a real Redis: publish on A, receive on A and B.
        check_cluster("herald", bin_dir, "herald", lambda port, n: benchlib.start_herald(
            bin_dir, ["--redis-url", f"redis://127.0.0.1:{port}", "--node-id", n], core=None,
            log_dir=logs.name, name=f"herald-{n}"), logs.name, servers)
        # The same with Socket.IO and its Redis adapter, in Socket.IO's own dialect.
        if benchlib.socketio_available():
            check_cluster("socketio", bin_dir, "socketio", lambda port, n: benchlib.start_socketio(
                port, n, core=None, log_dir=logs.name), logs.name, servers)
        else:
            print("smoke: Socket.IO peer not installed: socketio not part of this run", file=sys.stderr)

        # The peers, when installed (run_bench.py insists on them; the smoke says what it left).
        peers = []
        if benchlib.nchan_available():
            peers.append(("nchan", "nchan", lambda: benchlib.start_nchan(core=None, log_dir=logs.name)))
        else:
            print("smoke: nginx nchan module missing: nchan not part of this run", file=sys.stderr)
        if benchlib.node_available():
            peers.append(("node", "node", lambda: benchlib.start_node(False, core=None, log_dir=logs.name)))
            peers.append(("node-cork", "node", lambda: benchlib.start_node(True, core=None, log_dir=logs.name)))
        else:
            print("smoke: Node ws peer not installed: node not part of this run", file=sys.stderr)
        for label, kind, start in peers:
            p = start()
            servers.append(p)
            rc, res = benchlib.run_bench(bin_dir, population_args(p, ["--peer", kind]),
                                         timeout=240, core=None)
            check_population(label, res, rc)
            p.stop()
    except benchlib.BenchError as e:
        check("setup", False, str(e))
    finally:
        for s in servers:
            if failures:
                print(f"--- {s.name} log:\n{s.tail()}", file=sys.stderr)
            s.stop()
        logs.cleanup()
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
