"""The Redis side of cluster_scale.py: one redis-server (`single`) or a local Redis Cluster of 3
masters and 3 replicas (`cluster`), started in temporary directories on free loopback ports,
inspected with redis-cli, one master killed for a failover, and stopped. Standard library only.
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import benchlib


def key_slot(key):
    """The Redis Cluster slot of a key: CRC16 (XMODEM) of its hash tag, or of the whole key."""
    start = key.find("{")
    if start >= 0:
        end = key.find("}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    crc = 0
    for byte in key.encode():
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc % 16384


def _tool(name):
    path = shutil.which(name)
    if not path:
        raise benchlib.BenchError(f"{name} not found: apt-get install redis-server redis-tools "
                                  "(packaging/bootstrap.sh deps does)")
    return path


def _port_pair_free(port):
    """port and port + 10000 (the cluster bus) both free on 127.0.0.1."""
    for p in (port, port + 10000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                return False
    return True


def cluster_port(taken):
    for _ in range(200):
        p = random.randint(20000, 29999)
        if p not in taken and _port_pair_free(p):
            return p
    raise benchlib.BenchError("no free port pair for a Redis Cluster node")


def cli(port, *args, timeout=5.0):
    """redis-cli's answer as text ('' if it does not answer)."""
    try:
        out = subprocess.run([_tool("redis-cli"), "-h", "127.0.0.1", "-p", str(port)] + list(args),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=timeout)
        return out.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return ""


def info_fields(port, section):
    fields = {}
    for line in cli(port, "INFO", section).splitlines():
        if ":" in line and not line.startswith("#"):
            k, _, v = line.strip().partition(":")
            fields[k] = v
    return fields


def commandstats(port):
    """{command: calls} from INFO commandstats."""
    calls = {}
    for k, v in info_fields(port, "commandstats").items():
        if k.startswith("cmdstat_"):
            for item in v.split(","):
                if item.startswith("calls="):
                    calls[k[len("cmdstat_"):]] = int(item[len("calls="):])
    return calls


def proc_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def proc_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class RedisLab:
    """`single`: one redis-server with an append-only file (fsync always), so a restart after
    kill -9 keeps every acknowledged message's history. `cluster`: 3 masters + 3 replicas."""

    def __init__(self, mode, log_dir, core=None):
        self.mode = mode
        self.log_dir = log_dir
        self.core = core
        self.dir = tempfile.mkdtemp(prefix="herald-redislab-")
        self.servers = {}  # port -> benchlib.Server
        self.killed = None

    # -- start and stop ---------------------------------------------------------------------
    def start(self):
        _tool("redis-cli")
        if self.mode == "single":
            port = benchlib.free_port()
            self._start_one(port, ["--appendonly", "yes", "--appendfsync", "always"])
        else:
            ports = []
            for _ in range(6):
                ports.append(cluster_port(set(ports)))
            for p in ports:
                self._start_one(p, ["--cluster-enabled", "yes", "--cluster-config-file",
                                    "nodes.conf", "--cluster-node-timeout", "2000",
                                    # the other masters keep serving during a failover
                                    # (docs/operations.md recommends it)
                                    "--cluster-require-full-coverage", "no",
                                    "--appendonly", "no"])
            out = subprocess.run([_tool("redis-cli"), "--cluster", "create"]
                                 + [f"127.0.0.1:{p}" for p in ports]
                                 + ["--cluster-replicas", "1", "--cluster-yes"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            if out.returncode != 0:
                raise benchlib.BenchError("redis-cli --cluster create failed: "
                                          + out.stdout.decode("utf-8", "replace")[-1500:])
            self.wait_cluster_ok(list(self.servers), 60)
        return self

    def _start_one(self, port, extra):
        d = os.path.join(self.dir, str(port))
        os.makedirs(d, exist_ok=True)
        cmd = [_tool("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
               "--save", "", "--maxclients", "10000"] + extra
        s = benchlib.Server(f"redis-{port}", cmd, lambda: benchlib.redis_ping(port), core=self.core,
                            log_dir=self.log_dir)
        s.port = port
        s.cmd = cmd
        self.servers[port] = s.wait_ready()
        return s

    def stop(self):
        for s in self.servers.values():
            s.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- what the nodes connect to ----------------------------------------------------------
    def url(self):
        ports = sorted(self.servers)
        if self.mode == "single":
            return f"redis://127.0.0.1:{ports[0]}"
        # Every node as a seed, replicas too: any of them answers CLUSTER SLOTS.
        return "redis-cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports)

    def live_ports(self):
        return [p for p, s in self.servers.items() if s.proc.poll() is None]

    # -- cluster state ----------------------------------------------------------------------
    def nodes(self, via=None):
        """[(id, port, role, master_id, slots)] from CLUSTER NODES."""
        via = via or self.live_ports()[0]
        rows = []
        for line in cli(via, "CLUSTER", "NODES").splitlines():
            f = line.split()
            if len(f) < 8:
                continue
            port = int(f[1].split("@")[0].rsplit(":", 1)[1])
            flags = f[2].split(",")
            role = "master" if "master" in flags else "replica"
            if "fail" in flags or "fail?" in flags:
                role += ",fail"
            rows.append((f[0], port, role, f[3], f[8:]))
        return rows

    def masters(self):
        if self.mode == "single":
            return sorted(self.servers)
        return sorted(p for _, p, role, _, _ in self.nodes() if role == "master")

    def wait_cluster_ok(self, ports, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all("cluster_state:ok" in cli(p, "CLUSTER", "INFO") for p in ports):
                return True
            time.sleep(0.2)
        raise benchlib.BenchError(f"Redis Cluster not ok after {timeout} s: "
                                  + cli(ports[0], "CLUSTER", "INFO")[:400])

    # -- the failover -----------------------------------------------------------------------
    def kill_master(self):
        """SIGKILLs one master; returns (killed port, the port expected to take over); its slot
        ranges are left in self.killed_slots."""
        self.killed_slots = [(0, 16383)]
        if self.mode == "single":
            port = sorted(self.servers)[0]
            heir = port
        else:
            rows = self.nodes()
            master = next(r for r in sorted(rows, key=lambda r: r[1]) if r[2] == "master")
            port = master[1]
            heir = next(r[1] for r in rows if r[3] == master[0])
            self.killed_slots = []
            for item in master[4]:
                if not item.startswith("["):  # "[slot->-node]": a slot on the move
                    lo, _, hi = item.partition("-")
                    self.killed_slots.append((int(lo), int(hi or lo)))
        s = self.servers[port]
        os.killpg(s.proc.pid, signal.SIGKILL)
        s.proc.wait(10)
        self.killed = port
        return port, heir

    def take_over(self, port, heir, timeout=60):
        """single: restarts the killed server on its port and files (AOF); cluster: waits until
        the replica is master and the cluster is ok again. Returns the seconds it took."""
        t0 = time.monotonic()
        if self.mode == "single":
            old = self.servers.pop(port)
            old.stop()
            self._start_one(port, old.cmd[old.cmd.index("--maxclients") + 2:])
        else:
            deadline = t0 + timeout
            while time.monotonic() < deadline:
                if "role:master" in cli(heir, "INFO", "replication"):
                    break
                time.sleep(0.1)
            else:
                raise benchlib.BenchError(f"replica {heir} did not take over in {timeout} s")
            self.wait_cluster_ok(self.live_ports(), max(1, deadline - time.monotonic()))
        return time.monotonic() - t0

    # -- measurements -----------------------------------------------------------------------
    def sample(self, channels=()):
        """Per live server: CPU, RSS, network bytes, pub/sub and command counts."""
        out = {}
        for port in self.live_ports():
            s = self.servers[port]
            stats = info_fields(port, "stats")
            repl = info_fields(port, "replication")
            row = {"pid": s.proc.pid, "cpu_s": proc_cpu(s.proc.pid), "rss_kb": proc_rss_kb(s.proc.pid),
                   "role": repl.get("role", "?"),
                   "net_in_bytes": int(stats.get("total_net_input_bytes", 0)),
                   "net_out_bytes": int(stats.get("total_net_output_bytes", 0)),
                   "pubsub_channels": int(stats.get("pubsub_channels", 0)),
                   "pubsubshard_channels": int(stats.get("pubsubshard_channels", 0)),
                   "connected_clients": int(info_fields(port, "clients").get("connected_clients", 0)),
                   "calls": commandstats(port)}
            if channels:
                # Subscribers (node connections) of a few sample channels that live here.
                cmd = "NUMSUB" if self.mode == "single" else "SHARDNUMSUB"
                subs = {}
                for ch in channels:
                    lines = cli(port, "PUBSUB", cmd, ch).splitlines()
                    if len(lines) == 2 and lines[1].strip().isdigit() and int(lines[1]) > 0:
                        subs[ch] = int(lines[1])
                row["sample_channel_subscribers"] = subs
            out[str(port)] = row
        return out
