#!/usr/bin/python3
"""The cost of a publish with and without stream history (docs/benchmarks.md, issue 9), side by
side in one run: a node on a real redis-server, herald-bench's fan-out scenario with few
subscribers and many messages (so the publish path dominates), Herald's and Redis's CPU read from
/proc, interleaved over R rounds; prints medians (min-max) and the ratio.

    /usr/bin/python3 tests/load/publish_cost.py [--build-dir build] [--rounds 3]
        [--messages 20000] [--subscribers 10]

History on: the node's default rule (public.*:100:1h): each publish is one FCALL (XREVRANGE,
XADD with MAXLEN ~, XTRIM MINID ~, PEXPIRE, PUBLISH). History off (--history ""): one PUBLISH.
Everything listens on 127.0.0.1 and is stopped afterwards.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


def cpu_seconds(pids):
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


def one_round(bin_dir, history, args):
    redis = benchlib.start_redis(core=0)
    extra = ["--redis-url", f"redis://127.0.0.1:{redis.port}"]
    if not history:
        extra += ["--history", ""]
    node = benchlib.start_herald(bin_dir, extra, core=0)
    try:
        bursts = max(1, args.messages // 1000)
        node_before, redis_before = cpu_seconds(node.pids()), cpu_seconds(redis.pids())
        code, results = benchlib.run_bench(
            bin_dir, ["--target", f"127.0.0.1:{node.port}", "--scenarios", "fanout",
                      "--n", str(args.subscribers), "--burst", "1000", "--bursts", str(bursts),
                      "--label", "history" if history else "live-only"],
            timeout=300, core=1, echo=False)
        node_cpu = cpu_seconds(node.pids()) - node_before
        redis_cpu = cpu_seconds(redis.pids()) - redis_before
        fanout = next((r for r in results if r.get("scenario") == "fanout"), None)
        if code != 0 or not fanout or not fanout.get("complete"):
            raise benchlib.BenchError(f"fan-out run incomplete: {fanout}")
        published = fanout["published"]
        return {"published_per_s": published / fanout["seconds"],
                "node_us": node_cpu * 1e6 / published,
                "redis_us": redis_cpu * 1e6 / published}
    finally:
        node.stop()
        redis.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--subscribers", type=int, default=10)
    args = parser.parse_args()
    bin_dir = os.path.join(os.path.abspath(args.build_dir), "bin")
    runs = {True: [], False: []}
    for r in range(args.rounds):
        for history in (False, True):  # interleaved: the machine's noise hits both alike
            runs[history].append(one_round(bin_dir, history, args))
            print(f"round {r + 1} {'history' if history else 'live-only'}: {runs[history][-1]}",
                  file=sys.stderr)

    def cell(history, key, fmt):
        values = [x[key] for x in runs[history]]
        return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"

    print("| per publish, median of %d (min-max) | live only | with history | ratio |" % args.rounds)
    print("|---|---|---|---|")
    for key, label, fmt in (("node_us", "Herald CPU, us", "{:.1f}"),
                            ("redis_us", "redis-server CPU, us", "{:.1f}"),
                            ("published_per_s", "publishes/s (4 HTTP connections)", "{:.0f}")):
        a = statistics.median(x[key] for x in runs[False])
        b = statistics.median(x[key] for x in runs[True])
        print(f"| {label} | {cell(False, key, fmt)} | {cell(True, key, fmt)} | {b / a:.2f}x |")


if __name__ == "__main__":
    try:
        main()
    except benchlib.BenchError as e:
        print(f"publish_cost: {e}", file=sys.stderr)
        sys.exit(1)
