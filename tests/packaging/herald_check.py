"""Helpers shared by the packaging checks (run with Debian's /usr/bin/python3).

The checks compare the shipped files with what herald-server really does: its settings come from
its own --help, its probe paths from a real node. Each check collects every problem and fails
with all of them listed.
"""

import importlib
import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request


class Problems:
    """Collects failed expectations; report() prints them and gives the exit status."""

    def __init__(self, name):
        self.name = name
        self.items = []
        self.checked = 0

    def expect(self, condition, message):
        self.checked += 1
        if not condition:
            self.items.append(message)
        return condition

    def report(self):
        for item in self.items:
            print(f"FAIL: {item}")
        failed = len(self.items)
        print(f"{self.name}: {self.checked - failed} passed, {failed} failed")
        return 1 if failed else 0


def die(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def source_dir():
    path = os.environ.get("HERALD_SOURCE_DIR")
    if not path:
        die("HERALD_SOURCE_DIR is not set (run through ctest)")
    return os.path.abspath(path)


def server_binary():
    path = os.path.join(os.environ.get("HERALD_BIN_DIR", ""), "herald-server")
    if not os.access(path, os.X_OK):
        die(f"{path} not found: build the herald-server target first (HERALD_BIN_DIR)")
    return path


def require_module(name, package):
    try:
        return importlib.import_module(name)
    except ImportError:
        die(f"python module '{name}' missing: apt-get install {package} "
            "(packaging/bootstrap.sh test installs it; run with /usr/bin/python3)")


def server_settings(binary=None):
    """Every HERALD_* variable herald-server reads, taken from its own --help."""
    out = subprocess.run([binary or server_binary(), "--help"], check=True,
                         capture_output=True, text=True, timeout=30).stdout
    names = set(re.findall(r"\b(HERALD_[A-Z0-9_]+)\b", out))
    if len(names) < 10:
        die(f"herald-server --help lists only {sorted(names)}: cannot check settings")
    return names


def duration_ms(text):
    """A herald-server duration ("500ms", "10s", "2m" or bare seconds) in milliseconds."""
    value = str(text).strip().lower()
    for suffix, scale in (("ms", 1), ("s", 1000), ("m", 60000)):
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * scale
    return float(value) * 1000


def listen_port(listen):
    """The port of an ADDR:PORT listen setting."""
    return int(str(listen).rsplit(":", 1)[-1])


class NodeFailed(Exception):
    pass


class Node:
    """A real herald-server child on a free loopback port (--listen 127.0.0.1:0)."""

    def __init__(self, command=None, env=None):
        self.command = command or [server_binary()]
        self.env = env
        self.process = None
        self.port = 0
        self.output = ""

    def __enter__(self):
        self.process = subprocess.Popen(
            self.command + ["--listen", "127.0.0.1:0"], env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # Read raw bytes: select() on a buffered text stream misses lines that arrived together
        # (the start-up warning and the "listening on" line often come in one read).
        deadline = time.monotonic() + 30
        fd = self.process.stdout.fileno()
        while time.monotonic() < deadline and self.process.poll() is None:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            chunk = os.read(fd, 65536).decode(errors="replace")
            if not chunk:
                break
            self.output += chunk
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.output)
            if match:
                self.port = int(match.group(1))
                return self
        self.stop()
        self.output += self.process.stdout.read()
        raise NodeFailed(f"{' '.join(self.command)} did not report its port: {self.output}")

    def get(self, path, timeout=10):
        """HTTP status of GET path on this node (0: no answer)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}",
                                        timeout=timeout) as reply:
                return reply.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    def stop(self, timeout=15):
        """SIGTERM, then wait; the exit code (None if it had to be killed)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
                return None
        return self.process.returncode if self.process else None

    def __exit__(self, *exc):
        self.stop()
        if self.process and self.process.stdout:
            self.process.stdout.close()
