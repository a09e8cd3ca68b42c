"""Starting and stopping the servers herald-bench measures, and running herald-bench itself.

Used by run_bench.py (the full comparison) and smoke.py (the ctest smoke run). Standard library
only, for Debian's /usr/bin/python3. Every server listens on 127.0.0.1 and is stopped by stop().
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NCHAN_MODULE = "/usr/lib/nginx/modules/ngx_nchan_module.so"
NODE_DIR = os.path.join(HERE, "peers", "node-ws")
SOCKETIO_DIR = os.path.join(HERE, "peers", "socketio")
SOCKETIO_PACKAGES = ("socket.io", "@socket.io/redis-adapter", "redis")


class BenchError(Exception):
    """A tool is missing or a server did not come up: the message says what to do."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(cmd, core):
    """cmd run on one core (taskset) when the machine has that core, else as it is."""
    if core is not None and (os.cpu_count() or 1) > core and shutil.which("taskset"):
        return ["taskset", "-c", str(core)] + cmd
    return cmd


def http_get(port, path, timeout=2.0):
    """(status, body) of a GET on 127.0.0.1:port, or (0, '') if nothing answers."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
        return status, body.decode("utf-8", "replace")
    except (OSError, ValueError, IndexError):
        return 0, ""


def redis_ping(port, timeout=1.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class Server:
    """One server process (its children too: nginx's worker) with a readiness check."""

    def __init__(self, name, cmd, ready, workdir=None, core=0, log_dir=None):
        self.name = name
        self.workdir = workdir
        self.port = None
        log_dir = log_dir or tempfile.gettempdir()
        self.log_path = os.path.join(log_dir, f"{name}-{os.getpid()}-{int(time.time() * 1000)}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(pinned(cmd, core), stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=workdir, start_new_session=True)
        self.ready = ready

    def wait_ready(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited at start (code {self.proc.returncode}): "
                                 f"{self.tail()}")
            if self.ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise BenchError(f"{self.name} did not become ready in {timeout:.0f} s: {self.tail()}")

    def pids(self):
        """The process (taskset execs it, so the pid is the server's) and its children."""
        pids = [self.proc.pid]
        try:
            for task in os.listdir(f"/proc/{self.proc.pid}/task"):
                with open(f"/proc/{self.proc.pid}/task/{task}/children") as f:
                    pids += [int(p) for p in f.read().split()]
        except OSError:
            pass
        return pids

    def tail(self, n=2000):
        self.log.flush()
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, timeout=15.0):
        if self.log.closed:
            return self.proc.returncode
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()
        if self.workdir and self.workdir.startswith(tempfile.gettempdir() + "/herald-"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.proc.returncode


def start_herald(bin_dir, extra=(), core=0, log_dir=None, name="herald"):
    server = os.path.join(bin_dir, "herald-server")
    if not os.access(server, os.X_OK):
        raise BenchError(f"{server} not found: build it (cmake --build build --target herald-server)")
    port = free_port()
    cmd = [server, "--listen", f"127.0.0.1:{port}", "--dev", "--log-level", "warning",
           "--max-connections", "20000"] + list(extra)
    s = Server(name, cmd, lambda: http_get(port, "/healthz")[0] == 200, core=core, log_dir=log_dir)
    s.port = port
    return s.wait_ready()


def start_redis(core=0, log_dir=None):
    redis = shutil.which("redis-server")
    if not redis:
        raise BenchError("redis-server not found: apt-get install redis-server "
                         "(packaging/bootstrap.sh deps does)")
    port = free_port()
    cmd = [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    s = Server("redis", cmd, lambda: redis_ping(port), core=core, log_dir=log_dir)
    s.port = port
    return s.wait_ready()


def nchan_available():
    return bool(shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK)) and \
        os.path.exists(NCHAN_MODULE)


def start_nchan(core=0, log_dir=None):
    if not nchan_available():
        raise BenchError("nginx with nchan not found: apt-get install nginx-light libnginx-mod-nchan "
                         "(run_bench.py --install, or packaging/bootstrap.sh deps)")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    d = tempfile.mkdtemp(prefix="herald-nchan-")
    port = free_port()
    with open(os.path.join(HERE, "peers", "nginx-nchan.conf.in")) as f:
        conf = f.read().replace("@DIR@", d).replace("@PORT@", str(port))
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(conf)
    cmd = [nginx, "-p", d, "-c", os.path.join(d, "nginx.conf"), "-g", "daemon off;"]
    s = Server("nchan", cmd, lambda: http_get(port, "/healthz")[0] == 200, workdir=d, core=core,
               log_dir=log_dir)
    s.port = port
    s.wait_ready()
    # Wait for the worker too: its CPU and memory are the ones that count.
    deadline = time.monotonic() + 10
    while len(s.pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    return s


def node_available():
    return bool(shutil.which("node")) and \
        os.path.exists(os.path.join(NODE_DIR, "node_modules", "ws", "package.json"))


def start_node(cork, core=0, log_dir=None):
    if not node_available():
        raise BenchError("the Node ws peer is not installed: apt-get install nodejs npm; "
                         f"cd {NODE_DIR} && npm ci (run_bench.py --install does both)")
    port = free_port()
    cmd = ["node", os.path.join(NODE_DIR, "server.js"), "--port", str(port)] + (["--cork"] if cork else [])
    s = Server("node-cork" if cork else "node", cmd, lambda: http_get(port, "/healthz")[0] == 200,
               core=core, log_dir=log_dir)
    s.port = port
    return s.wait_ready()


def socketio_available():
    return bool(shutil.which("node")) and all(
        os.path.exists(os.path.join(SOCKETIO_DIR, "node_modules", p, "package.json"))
        for p in SOCKETIO_PACKAGES)


def socketio_versions():
    """"socket.io 4.8.1, @socket.io/redis-adapter 8.3.0, redis 4.7.1" as installed."""
    found = []
    for p in SOCKETIO_PACKAGES:
        try:
            with open(os.path.join(SOCKETIO_DIR, "node_modules", p, "package.json")) as f:
                found.append(f"{p} {json.load(f)['version']}")
        except (OSError, ValueError, KeyError):
            found.append(f"{p} ?")
    return ", ".join(found)


def start_socketio(redis_port, node_id, core=0, log_dir=None):
    """One Socket.IO node of the pair that shares redis_port through the Redis adapter."""
    if not socketio_available():
        raise BenchError("the Socket.IO peer is not installed: apt-get install nodejs npm; "
                         f"cd {SOCKETIO_DIR} && npm ci (run_bench.py and packaging/bootstrap.sh "
                         "deps do both)")
    port = free_port()
    cmd = ["node", os.path.join(SOCKETIO_DIR, "server.js"), "--port", str(port), "--redis-url",
           f"redis://127.0.0.1:{redis_port}", "--node-id", node_id]
    s = Server(f"socketio-{node_id}", cmd, lambda: http_get(port, "/healthz")[0] == 200,
               core=core, log_dir=log_dir)
    s.port = port
    return s.wait_ready()


def run_bench(bin_dir, args, timeout, core=1, echo=True):
    """Runs herald-bench; returns (exit code, [result objects]). Its stderr goes to ours."""
    bench = os.path.join(bin_dir, "herald-bench")
    if not os.access(bench, os.X_OK):
        raise BenchError(f"{bench} not found: build it (cmake --build build --target herald-bench)")
    try:
        proc = subprocess.run(pinned([bench] + args, core), stdout=subprocess.PIPE,
                              stderr=None if echo else subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, []
    results = []
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                results.append(json.loads(line))
            except ValueError:
                print(f"benchlib: not JSON: {line}", file=sys.stderr)
    return proc.returncode, results
