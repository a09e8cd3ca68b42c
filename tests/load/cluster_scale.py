#!/usr/bin/python3
"""Issue 11's scale test: Redis (a local 3-master Redis Cluster, or one redis-server), several
Herald nodes on this machine, N idle WebSocket subscribers spread over them (herald-bench's
`hold` scenario: worker processes on epoll, source addresses 127.0.0.1..8), one of S streams
each, held for H minutes while a steady rate of publishes goes to the streams through every node
over HTTP keep-alive. Then one Redis master is killed with SIGKILL (single mode: the one server
is killed and restarted on its append-only file) while publishing goes on, until its replica has
taken over and publishes succeed again. Measured: subscribers dropped during the hold, memory
and CPU of every node and Redis server, Redis traffic per shard, and for every acknowledged
publish whether each subscriber of its stream got it exactly once (resuming with `since` after
a disconnection, as herald.js does).

    /usr/bin/python3 tests/load/cluster_scale.py --redis cluster            # 100,000 x 10 min
    /usr/bin/python3 tests/load/cluster_scale.py --redis single --nodes 4 --connections 20000 \
        --hold-min 2
    /usr/bin/python3 tests/load/cluster_scale.py --smoke --redis single     # ctest size, --check

Results: <build>/bench-results/<time>/cluster_scale.json and cluster_scale.md. Loopback only;
everything started is stopped at the end, on errors, on Ctrl-C and at the overall deadline.
"""
import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import redislab  # noqa: E402
import scale_report  # noqa: E402

ROOT = os.path.abspath(os.path.join(benchlib.HERE, "..", ".."))
TOKEN = "scale-test-token"


class Deadline(Exception):
    pass


def sockstat():
    """The kernel's TCP sockets in use, their buffer memory (pages, /proc/net/sockstat) and the
    kernel's slab memory (KB, /proc/meminfo: socket structures live there)."""
    out = {}
    try:
        with open("/proc/net/sockstat") as f:
            for line in f:
                if line.startswith("TCP:"):
                    v = line.split()[1:]
                    d = dict(zip(v[0::2], (int(x) for x in v[1::2])))
                    out.update(inuse=d.get("inuse"), mem_pages=d.get("mem"))
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("Slab:"):
                    out["slab_kb"] = int(line.split()[1])
    except OSError:
        pass
    return out


def node_sample(nodes):
    return {n.name: {"pid": n.proc.pid, "cpu_s": redislab.proc_cpu(n.proc.pid),
                     "rss_kb": redislab.proc_rss_kb(n.proc.pid)} for n in nodes}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    p.add_argument("--bin-dir", default=None, help="default: <build-dir>/bin")
    p.add_argument("--redis", choices=("cluster", "single"), default="cluster")
    p.add_argument("--nodes", type=int, default=6)
    p.add_argument("--connections", type=int, default=100000)
    p.add_argument("--streams", type=int, default=1000)
    p.add_argument("--hold-min", type=float, default=10)
    p.add_argument("--rate", type=float, default=200, help="publishes/s in total")
    p.add_argument("--payload", type=int, default=100)
    p.add_argument("--after", type=float, default=30, help="publishing after the kill, s")
    p.add_argument("--drain", type=float, default=60)
    p.add_argument("--quiet", type=float, default=30,
                   help="seconds without publishing before the hold: the idle cost")
    p.add_argument("--no-failover", action="store_true")
    p.add_argument("--smoke", action="store_true",
                   help="ctest size: 2 nodes, 300 connections, 20 streams, 20 s; implies --check")
    p.add_argument("--check", action="store_true",
                   help="exit 1 unless the results add up (no drops, no loss, no duplicates)")
    p.add_argument("--out", default=None)
    p.add_argument("--label", default="")
    a = p.parse_args()
    if a.smoke:
        a.nodes, a.connections, a.streams, a.hold_min, a.rate = 2, 300, 20, 20 / 60, 50
        a.after, a.drain, a.quiet, a.check = 10, 30, 3, True
    a.bin_dir = os.path.abspath(a.bin_dir or os.path.join(a.build_dir, "bin"))
    if a.connections / max(1, a.nodes) >= 19500:
        p.error("each node must hold < 20,000 connections: use more --nodes")
    return a


def main():
    a = parse_args()
    out = a.out or os.path.join(os.path.abspath(a.build_dir), "bench-results",
                                time.strftime("%Y%m%d-%H%M%S") + "-scale")
    os.makedirs(out, exist_ok=True)
    hold_s = a.hold_min * 60
    connect_s = 60 + a.connections / 1000
    failover_wait = 0 if a.no_failover else 120
    bench_timeout = connect_s + 5 + a.quiet + hold_s + failover_wait + a.after + 60 + a.drain + 60
    budget = bench_timeout + 240  # setup and teardown
    # The overall deadline: SIGALRM ends the run; `finally` stops everything.
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(Deadline()))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    signal.alarm(int(budget))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the nodes inherit it

    logs = os.path.join(out, "logs")  # every server's output, kept with the results
    os.makedirs(logs, exist_ok=True)
    lab, nodes, bench = None, [], None
    report = {"command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
              "redis_mode": a.redis, "nodes": a.nodes, "connections": a.connections,
              "streams": a.streams, "hold_min": a.hold_min, "rate": a.rate, "payload": a.payload,
              "failover": not a.no_failover, "machine": scale_report.machine(),
              "samples": {}, "events": {}}
    failures = []
    try:
        for tool in ("herald-server", "herald-bench"):
            if not os.access(os.path.join(a.bin_dir, tool), os.X_OK):
                raise benchlib.BenchError(f"{a.bin_dir}/{tool} missing: cmake --build build "
                                          "--target herald-server herald-bench")
        lab = redislab.RedisLab(a.redis, logs).start()
        report["redis_url"] = lab.url()
        for i in range(a.nodes):
            nodes.append(benchlib.start_herald(
                a.bin_dir, ["--redis-url", lab.url(), "--node-id", f"n{i + 1}",
                            "--api-tokens", TOKEN, "--max-connections", "20000"],
                core=None, log_dir=logs, name=f"herald-n{i + 1}"))
        channels = [f"herald:public.s{i}" for i in range(0, a.streams, max(1, a.streams // 10))]

        def sample(name):
            report["samples"][name] = {"t": time.monotonic(), "nodes": node_sample(nodes),
                                       "sockstat": sockstat(),
                                       "redis": lab.sample(channels if name != "start" else ())}

        sample("start")
        cmd = [os.path.join(a.bin_dir, "herald-bench"), "--scenarios", "hold",
               "--target", ",".join(f"127.0.0.1:{n.port}" for n in nodes),
               "--n", str(a.connections), "--streams", str(a.streams), "--rate", str(a.rate),
               "--payload", str(a.payload), "--duration", str(hold_s), "--api-token", TOKEN,
               "--failover-wait", str(failover_wait), "--after", str(a.after),
               "--drain", str(a.drain), "--settle", str(a.quiet), "--timeout", str(int(bench_timeout)), "--label", a.label]
        report["bench_command"] = " ".join(cmd)
        bench_log = open(os.path.join(out, "herald-bench.log"), "wb")
        bench = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=bench_log, start_new_session=True)
        result = None
        for raw in bench.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("{"):
                continue
            obj = json.loads(line)
            if obj.get("scenario") == "hold":
                result = obj
                continue
            ph = obj.get("phase")
            print(f"cluster_scale: {ph} {json.dumps(obj)}", file=sys.stderr)
            report["events"][ph] = obj
            if ph in ("connected", "quiet", "holding", "hold_done", "published", "checked"):
                sample(ph)
            if ph == "hold_done":
                # herald-bench marks the moment (phase `failover`), then the master is killed.
                bench.stdin.write(b"finish\n" if a.no_failover else b"failover\n")
                bench.stdin.flush()
            if ph == "failover":
                port, heir = lab.kill_master()
                t_kill = time.monotonic()
                took = lab.take_over(port, heir)
                report["failover"] = {"killed_port": port, "heir_port": heir,
                                      "mode": "replica promoted" if a.redis == "cluster"
                                      else "the one redis-server killed and restarted (AOF)",
                                      "take_over_s": round(took, 2),
                                      "killed_slots": lab.killed_slots,
                                      "since_kill_s": round(time.monotonic() - t_kill, 2)}
                print(f"cluster_scale: {report['failover']}", file=sys.stderr)
                sample("taken_over")
        bench.wait(60)
        report["bench_exit"] = bench.returncode
        report["result"] = result
        if result is None:
            failures.append(f"herald-bench gave no result (exit {bench.returncode}); "
                            f"see {out}/herald-bench.log")
        for n in nodes:
            if n.proc.poll() is not None:
                failures.append(f"{n.name} exited during the run (code {n.proc.returncode})")
    except Deadline:
        failures.append(f"overall deadline ({budget:.0f} s) passed")
    except KeyboardInterrupt:
        failures.append("interrupted")
    except benchlib.BenchError as e:
        failures.append(str(e))
    finally:
        signal.alarm(0)
        if bench and bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
            bench.wait(10)
        for n in nodes:
            report.setdefault("node_logs", {})[n.name] = n.tail(1500)
            n.stop()
        if lab:
            lab.stop()
    report["failures"] = failures
    if isinstance(report.get("failover"), dict) and report.get("result"):
        # Failed publishes during the failover: on the killed master's slots, or elsewhere?
        ranges = report["failover"]["killed_slots"]
        on, off = 0, 0
        for item in report["result"].get("failed_after_kill_by_stream", "").split(","):
            if item:
                stream, n = (int(x) for x in item.split(":"))
                slot = redislab.key_slot(f"{{herald:public.s{stream}}}:history")
                if any(lo <= slot <= hi for lo, hi in ranges):
                    on += n
                else:
                    off += n
        report["failover"]["failed_on_killed_shard"] = on
        report["failover"]["failed_on_other_shards"] = off
    summary = scale_report.summarize(report)
    report["summary"] = summary
    if a.check and report.get("result"):
        failures += scale_report.check(report, a.redis)
    with open(os.path.join(out, "cluster_scale.json"), "w") as f:
        json.dump(report, f, indent=1)
    md = scale_report.markdown(report)
    with open(os.path.join(out, "cluster_scale.md"), "w") as f:
        f.write(md)
    print(md)
    print(f"cluster_scale: results in {out}", file=sys.stderr)
    if failures:
        for f_ in failures:
            print(f"FAIL {f_}", file=sys.stderr)
        if a.check:
            for name, tail in report.get("node_logs", {}).items():
                print(f"--- {name} log:\n{tail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
