"""Figures, checks and the markdown summary of a cluster_scale.py run (from its samples of the
nodes and Redis servers at each phase, and herald-bench's `hold` result)."""
import os


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
    except OSError:
        load = "?"
    return f"{os.cpu_count()} cores ({model}), Linux {os.uname().release}, load average at start {load}"


def _delta(a, b, key):
    if a is None or b is None or a.get(key) is None or b.get(key) is None:
        return None
    return b[key] - a[key]


def summarize(r):
    """Per node and per Redis server figures over the phases; None where a sample is missing."""
    s = r.get("samples", {})
    res = r.get("result") or {}
    out = {"nodes": {}, "redis": {}}
    start, conn, hold, done = (s.get(k) for k in ("start", "connected", "holding", "hold_done"))
    quiet = s.get("quiet")
    quiet_s = (hold["t"] - quiet["t"]) if quiet and hold else None
    k0, k1 = (start or {}).get("sockstat", {}), (conn or {}).get("sockstat", {})
    if k0.get("mem_pages") is not None and k1.get("mem_pages") is not None:
        # Both ends of every connection are on this machine: two sockets per connection.
        out["kernel_tcp_bytes_per_socket"] = ((k1["mem_pages"] - k0["mem_pages"]) * os.sysconf("SC_PAGE_SIZE")
                                              / max(1, k1["inuse"] - k0["inuse"]))
        out["sockstat"] = {"start": k0, "connected": k1}
    if k0.get("slab_kb") is not None and k1.get("slab_kb") is not None:
        # The whole machine's slab: other processes move it too, so a rough figure.
        out["kernel_slab_bytes_per_socket"] = ((k1["slab_kb"] - k0["slab_kb"]) * 1024
                                               / max(1, k1["inuse"] - k0["inuse"]))
    n_nodes = max(1, r["nodes"])
    per_node = r["connections"] / n_nodes
    hold_s = (done["t"] - hold["t"]) if hold and done else None
    published_hold = (r.get("events", {}).get("hold_done") or {}).get("published")
    for name in (start or {}).get("nodes", {}):
        row = {}
        a = start["nodes"][name]
        c = conn["nodes"].get(name) if conn else None
        h = hold["nodes"].get(name) if hold else None
        d = done["nodes"].get(name) if done else None
        row["rss_mb_start"] = a["rss_kb"] / 1024 if a.get("rss_kb") else None
        if d and d.get("rss_kb") and a.get("rss_kb"):
            row["rss_mb_hold_end"] = d["rss_kb"] / 1024
            row["rss_kb_per_connection"] = (d["rss_kb"] - a["rss_kb"]) / per_node
        if c and c.get("rss_kb") and a.get("rss_kb"):
            row["rss_kb_per_connection_at_connect"] = (c["rss_kb"] - a["rss_kb"]) / per_node
        cpu_connect = _delta(a, c, "cpu_s")
        if cpu_connect is not None:
            row["cpu_us_per_connect"] = cpu_connect * 1e6 / per_node
        q = quiet["nodes"].get(name) if quiet else None
        cpu_quiet = _delta(q, h, "cpu_s")
        if cpu_quiet is not None and quiet_s:
            row["cpu_percent_quiet"] = cpu_quiet * 100 / quiet_s
            row["cpu_us_per_connection_second_idle"] = cpu_quiet * 1e6 / quiet_s / per_node
        cpu_hold = _delta(h, d, "cpu_s")
        if cpu_hold is not None and hold_s:
            row["cpu_percent_hold"] = cpu_hold * 100 / hold_s
            if published_hold:
                deliveries = published_hold * per_node / r["streams"]
                row["deliveries_per_s"] = deliveries / hold_s
                row["cpu_us_per_delivery_all_in"] = cpu_hold * 1e6 / deliveries
                row["cpu_us_per_publish_all_in"] = cpu_hold * 1e6 / published_hold
                if cpu_quiet is not None and quiet_s:
                    # What publishing added to the idle cost, per delivery on this node.
                    extra = cpu_hold - cpu_quiet / quiet_s * hold_s
                    row["cpu_us_per_delivery_over_idle"] = extra * 1e6 / deliveries
        out["nodes"][name] = row
    for port in (hold or {}).get("redis", {}):
        h = hold["redis"][port]
        d = (done or {}).get("redis", {}).get(port)
        row = {"role": h.get("role"), "pubsubshard_channels": h.get("pubsubshard_channels"),
               "pubsub_channels": h.get("pubsub_channels"),
               "connected_clients": h.get("connected_clients"),
               "sample_channel_subscribers": h.get("sample_channel_subscribers")}
        if d and hold_s:
            cpu = _delta(h, d, "cpu_s")
            row["cpu_percent_hold"] = cpu * 100 / hold_s if cpu is not None else None
            row["net_in_bytes_per_s"] = _delta(h, d, "net_in_bytes") / hold_s
            row["net_out_bytes_per_s"] = _delta(h, d, "net_out_bytes") / hold_s
            calls = {k: d["calls"].get(k, 0) - h["calls"].get(k, 0) for k in d["calls"]}
            row["calls_per_s"] = {k: v / hold_s for k, v in calls.items() if v > 0}
            # With history a publish is one FCALL (its PUBLISH/SPUBLISH inside is counted too);
            # without, one PUBLISH or SPUBLISH (heartbeats included).
            published = calls.get("fcall", 0) or (calls.get("spublish", 0) + calls.get("publish", 0))
            if published and cpu is not None:
                row["cpu_us_per_publish"] = cpu * 1e6 / published
                row["net_out_bytes_per_publish"] = _delta(h, d, "net_out_bytes") / published
                row["net_in_bytes_per_publish"] = _delta(h, d, "net_in_bytes") / published
        out["redis"][port] = row
    for port in (quiet or {}).get("redis", {}):
        if port in out["redis"] and hold and port in hold["redis"] and quiet_s:
            cpu = _delta(quiet["redis"][port], hold["redis"][port], "cpu_s")
            out["redis"][port]["cpu_percent_quiet"] = cpu * 100 / quiet_s if cpu is not None else None
    out["hold_s"] = hold_s
    out["quiet_s"] = quiet_s
    out["exact"] = {k: res.get(k) for k in (
        "connected", "dropped_during_hold", "closed_total", "reconnects", "subscribers_gone",
        "published", "acked", "acked_after_failover", "failed_publishes",
        "failed_publishes_before_failover", "first_failed_publish_after_kill_s",
        "last_failed_publish_after_kill_s", "publishes_ok_again_after_kill_s",
        "messages_received", "expected_deliveries", "lost", "duplicated", "received_unacked",
        "out_of_order", "resumed_recovered", "resumed_not_recovered", "complete")}
    return out


def check(r, mode):
    """What must hold for the smoke size; [] when everything adds up. No timings."""
    res = r["result"]
    bad = []

    def need(label, cond, detail):
        if not cond:
            bad.append(f"{label}: {detail}")

    need("exit code", r.get("bench_exit") == 0, f"herald-bench exited {r.get('bench_exit')}")
    need("connected", res.get("connected") == r["connections"] and res.get("connect_failed") == 0,
         f"{res.get('connected')} of {r['connections']} ({res.get('connect_failed')} failed)")
    need("drops", res.get("dropped_during_hold") == 0 and res.get("subscribers_gone") == 0,
         f"{res.get('dropped_during_hold')} dropped in the hold, codes {res.get('close_codes')}, "
         f"{res.get('subscribers_gone')} gone")
    need("lost", res.get("lost") == 0, f"{res.get('lost')} lost, e.g. {res.get('first_lost')}")
    need("duplicated", res.get("duplicated") == 0,
         f"{res.get('duplicated')}, e.g. {res.get('first_duplicate')}")
    need("order", res.get("out_of_order") == 0 and res.get("wrong_stream") == 0
         and res.get("unparsed") == 0, {k: res.get(k) for k in ("out_of_order", "wrong_stream", "unparsed")})
    need("publishes before the failover", res.get("failed_publishes_before_failover") == "",
         res.get("failed_publishes_before_failover"))
    failed = sum(int(x.split(":")[1]) for x in res.get("failed_publishes", "").split(",") if x)
    need("publishes add up", res.get("acked", 0) > 0 and res.get("acked") + failed == res.get("published"),
         f"acked {res.get('acked')} + failed {failed} != published {res.get('published')}")
    need("deliveries add up", res.get("messages_received") == res.get("expected_deliveries", -1)
         + res.get("received_unacked", 0) + res.get("duplicated", 0),
         f"received {res.get('messages_received')}, expected {res.get('expected_deliveries')} "
         f"+ unacked {res.get('received_unacked')}")
    if r.get("failover"):
        need("failover", res.get("failover") is True and res.get("acked_after_failover", 0) > 0,
             f"failover {res.get('failover')}, acked after it {res.get('acked_after_failover')}")
    s = r["summary"]
    need("node samples", all(v.get("rss_kb_per_connection") is not None for v in s["nodes"].values())
         and len(s["nodes"]) == r["nodes"], s["nodes"])
    need("redis samples", bool(s["redis"]) and all(v.get("net_out_bytes_per_s") is not None
                                                    for v in s["redis"].values()), s["redis"])
    return bad


def _f(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:.{digits}g}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def markdown(r):
    s = r.get("summary", {})
    res = r.get("result") or {}
    lines = [f"Machine: {r['machine']}.",
             f"Command: /usr/bin/python3 tests/load/{r['command']}",
             f"Redis: {r['redis_mode']} ({r.get('redis_url', '-')}); {r['nodes']} Herald nodes; "
             f"{r['connections']:,} subscribers over {r['streams']:,} streams; "
             f"{r['rate']:g} publishes/s of {r['payload']} bytes; hold {_f(s.get('hold_s'))} s.", ""]
    lines += ["| node | RSS start MB | RSS end of hold MB | RSS per connection KB | CPU per connect us "
              "| CPU idle % (us per connection-s) | CPU in the hold % | deliveries/s "
              "| CPU per delivery us: all in / over idle |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, v in sorted(s.get("nodes", {}).items()):
        lines.append(f"| {name} | {_f(v.get('rss_mb_start'))} | {_f(v.get('rss_mb_hold_end'))} | "
                     f"{_f(v.get('rss_kb_per_connection'))} | {_f(v.get('cpu_us_per_connect'))} | "
                     f"{_f(v.get('cpu_percent_quiet'))} ({_f(v.get('cpu_us_per_connection_second_idle'))}) | "
                     f"{_f(v.get('cpu_percent_hold'))} | {_f(v.get('deliveries_per_s'))} | "
                     f"{_f(v.get('cpu_us_per_delivery_all_in'))} / {_f(v.get('cpu_us_per_delivery_over_idle'))} |")
    if s.get("kernel_tcp_bytes_per_socket") is not None:
        lines += ["", f"Kernel memory per TCP socket after connecting (both ends on this machine): "
                  f"buffers {_f(s['kernel_tcp_bytes_per_socket'])} bytes (/proc/net/sockstat), "
                  f"slab {_f(s.get('kernel_slab_bytes_per_socket'))} bytes (/proc/meminfo, whole machine)."]
    lines += ["", "| Redis server | role | CPU idle % | CPU in the hold % | CPU per publish us | in B/s | out B/s "
              "| out B per publish | shard channels | calls/s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for port, v in sorted(s.get("redis", {}).items()):
        calls = ", ".join(f"{k} {c:.1f}" for k, c in sorted((v.get("calls_per_s") or {}).items()))
        lines.append(f"| {port} | {v.get('role')} | {_f(v.get('cpu_percent_quiet'))} | {_f(v.get('cpu_percent_hold'))} | "
                     f"{_f(v.get('cpu_us_per_publish'))} | {_f(v.get('net_in_bytes_per_s'))} | "
                     f"{_f(v.get('net_out_bytes_per_s'))} | {_f(v.get('net_out_bytes_per_publish'))} | "
                     f"{_f(v.get('pubsubshard_channels') or v.get('pubsub_channels'))} | {calls} |")
    e = s.get("exact", {})
    fo = r.get("failover") if isinstance(r.get("failover"), dict) else None
    lines += ["", "| exactness | |", "|---|---|",
              f"| subscribed / dropped during the hold / gone | {_f(e.get('connected'))} / "
              f"{_f(e.get('dropped_during_hold'))} / {_f(e.get('subscribers_gone'))} |",
              f"| closed in all, reconnects (resumed: recovered / not) | {_f(e.get('closed_total'))}, "
              f"{_f(e.get('reconnects'))} ({_f(e.get('resumed_recovered'))} / "
              f"{_f(e.get('resumed_not_recovered'))}) |",
              f"| publishes: sent / acked / acked after the kill | {_f(e.get('published'))} / "
              f"{_f(e.get('acked'))} / {_f(e.get('acked_after_failover'))} |",
              f"| failed publishes (status:count; 0 = no answer, -1 = not sent) | "
              f"{e.get('failed_publishes') or 'none'} |",
              f"| deliveries received / expected (acked x subscribers) | "
              f"{_f(e.get('messages_received'))} / {_f(e.get('expected_deliveries'))} |",
              f"| lost / duplicated / received though not acked / out of order | {_f(e.get('lost'))} / "
              f"{_f(e.get('duplicated'))} / {_f(e.get('received_unacked'))} / {_f(e.get('out_of_order'))} |"]
    if fo:
        lines.append(f"| failover | {fo['mode']}: port {fo['killed_port']} killed, "
                     f"{fo['heir_port']} serving after {fo['take_over_s']} s; failed publishes from "
                     f"{_f(e.get('first_failed_publish_after_kill_s'))} s to "
                     f"{_f(e.get('last_failed_publish_after_kill_s'))} s after the kill, "
                     f"succeeding again at {_f(e.get('publishes_ok_again_after_kill_s'))} s |")
        lines.append(f"| failed publishes after the kill: on the killed master's slots / on the others | "
                     f"{_f(fo.get('failed_on_killed_shard'))} / {_f(fo.get('failed_on_other_shards'))} |")
    if r.get("failures"):
        lines += ["", "Failures: " + "; ".join(r["failures"])]
    lines.append(f"\nherald-bench: `{r.get('bench_command', '-')}`")
    return "\n".join(lines) + "\n"
