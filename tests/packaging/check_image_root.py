"""Builds the container image's files without a container engine and checks them.

Runs packaging/docker/build-image-root.sh (the very script the Dockerfile's build stage runs) into
a temporary DESTDIR, then:
  - the binaries and the health check are there;
  - every library ldd resolves for them belongs to a package of runtime-packages.txt or one that
    apt pulls in with them (so the runtime stage has all it needs);
  - in a chroot that holds only those packages' files (plus bash, which debian:12-slim has), the
    binaries print their version, and a node run as the image's non-root user, with nothing it
    could write to, serves: herald-healthcheck says healthy, and after SIGTERM the node exits 0
    and the health check says unhealthy.

    /usr/bin/python3 check_image_root.py BUILD_DIR      (ctest runs it; label "packaging")
Needs root (chroot) and the packages of build-packages.txt and runtime-packages.txt.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from herald_check import Node, NodeFailed, Problems, die, source_dir  # noqa: E402

ROOT = source_dir()
DOCKER = os.path.join(ROOT, "packaging", "docker")
BINARIES = ("usr/bin/herald-server", "usr/bin/heraldctl", "usr/bin/herald-healthcheck")
# What the chroot needs beyond the runtime packages; debian:12-slim has these (Essential: yes).
BASE_IMAGE_PACKAGES = ("bash",)
SKIP_PREFIXES = ("/usr/share/doc", "/usr/share/man", "/usr/share/info", "/usr/share/locale",
                 "/usr/share/lintian", "/usr/share/bug")


def package_list(name):
    with open(os.path.join(DOCKER, name), encoding="utf-8") as file:
        return [line.split("#")[0].strip() for line in file if line.split("#")[0].strip()]


def run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def installed(package):
    result = run(["dpkg-query", "-W", "-f=${Status}", package])
    return result.returncode == 0 and "install ok installed" in result.stdout


def dependency_closure(packages):
    """The packages apt installs for `packages` (Depends and Pre-Depends, recursively)."""
    result = run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                  "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + packages)
    if result.returncode != 0:
        die(f"apt-cache depends failed: {result.stderr}")
    return {line.strip() for line in result.stdout.splitlines()
            if line and not line.startswith(" ") and not line.startswith("<")}


def owner_of(path):
    """The package that ships a library path (dpkg knows /lib and /usr/lib apart)."""
    real = os.path.realpath(path)
    candidates = [path, real]
    for p in (path, real):
        candidates.append(p[4:] if p.startswith("/usr/") else "/usr" + p)
    for candidate in candidates:
        result = run(["dpkg", "-S", candidate])
        if result.returncode == 0:
            return result.stdout.split(":")[0].split(",")[0].strip()
    return None


def resolved_libraries(binary):
    result = run(["ldd", binary])
    if result.returncode != 0:
        die(f"ldd {binary} failed: {result.stderr}")
    libraries, missing = [], []
    for line in result.stdout.splitlines():
        if "not found" in line:
            missing.append(line.strip())
        match = re.search(r"=>\s+(/\S+)", line)
        if match:
            libraries.append(match.group(1))
        elif line.strip().startswith("/"):
            libraries.append(line.split()[0])
    return libraries, missing


def make_root(root, packages, destdir):
    """A root file system with only these packages' files and the image's own files."""
    for name in ("bin", "sbin", "lib", "lib64"):  # Debian 12 is merged-/usr
        os.makedirs(os.path.join(root, "usr", name), exist_ok=True)
        os.symlink(os.path.join("usr", name), os.path.join(root, name))
    for name in ("tmp", "etc", "dev", "proc"):
        os.makedirs(os.path.join(root, name), exist_ok=True)
    for package in sorted(packages):
        for path in run(["dpkg", "-L", package]).stdout.splitlines():
            if not path.startswith("/") or path.startswith(SKIP_PREFIXES) or path == "/.":
                continue
            target = root + path
            if os.path.islink(path):
                if not os.path.lexists(target):
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    os.symlink(os.readlink(path), target)
            elif os.path.isdir(path):
                os.makedirs(target, exist_ok=True)
            elif os.path.isfile(path) and not os.path.lexists(target):
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy2(path, target)
    shutil.copytree(destdir, root, symlinks=True, dirs_exist_ok=True)


def healthcheck(root, port, path=None):
    command = [shutil.which("chroot"), f"--userspec={image_user()}", root,
               "/usr/bin/herald-healthcheck"] + ([path] if path else [])
    return run(command, env={"HERALD_LISTEN": f"127.0.0.1:{port}", "PATH": "/usr/bin"},
               timeout=30).returncode


def image_user():
    """The Dockerfile's USER (uid:gid), which the image's processes run as."""
    with open(os.path.join(DOCKER, "Dockerfile"), encoding="utf-8") as file:
        users = re.findall(r"^USER\s+(\S+)", file.read(), re.MULTILINE)
    if not users:
        die("packaging/docker/Dockerfile has no USER")
    return users[-1] if ":" in users[-1] else f"{users[-1]}:{users[-1]}"


def serve_in_root(p, root):
    """A node in the runtime root, run as the image's user, answers, its health check agrees,
    and it stops cleanly. Nothing in the root is writable by that user: the node needs no
    writable file system (the Kubernetes manifests make the root file system read-only)."""
    command = [shutil.which("chroot"), f"--userspec={image_user()}", root,
               "/usr/bin/herald-server"]
    with Node(command, env={}) as node:
        p.expect(node.port > 0, "herald-server did not start in the runtime root")
        uid = int(image_user().split(":")[0])
        p.expect(os.stat(f"/proc/{node.process.pid}").st_uid == uid,
                 f"herald-server in the runtime root does not run as uid {uid}")
        # herald-healthcheck reads the port from HERALD_LISTEN, as in the image.
        p.expect(healthcheck(root, node.port) == 0,
                 "herald-healthcheck reports a serving node unhealthy")
        p.expect(healthcheck(root, node.port, "/readyz") == 0,
                 "herald-healthcheck /readyz fails on a ready single node")
        p.expect(healthcheck(root, node.port, "/no-such-page") == 1,
                 "herald-healthcheck accepts a 404")
        port = node.port
        code = node.stop()
        p.expect(code == 0, f"herald-server in the runtime root exited {code} on SIGTERM: "
                 f"{node.output}")
    # The process has exited, so its port is closed.
    p.expect(healthcheck(root, port) != 0,
             "herald-healthcheck reports healthy after the node stopped")


def main():
    if len(sys.argv) != 2:
        die("usage: check_image_root.py BUILD_DIR")
    if os.geteuid() != 0:
        die("needs root for chroot (the runtime check runs the binaries in a root holding only "
            "the declared packages); run the tests as root, as CI does")
    for tool in ("apt-cache", "dpkg", "ldd", "chroot", "cmake", "ninja"):
        if not shutil.which(tool):
            die(f"{tool} not found: run packaging/bootstrap.sh deps")
    p = Problems("check_image_root")
    build_dir = os.path.abspath(sys.argv[1])

    with tempfile.TemporaryDirectory(prefix="herald-image-") as tmp:
        destdir = os.path.join(tmp, "out")
        env = dict(os.environ, HERALD_BUILD_JOBS=os.environ.get("HERALD_BUILD_JOBS", "2"))
        build = subprocess.run(["nice", os.path.join(DOCKER, "build-image-root.sh"), destdir,
                                build_dir], env=env, capture_output=True, text=True)
        if build.returncode != 0:
            die(f"build-image-root.sh failed:\n{build.stdout[-4000:]}\n{build.stderr[-4000:]}")
        for binary in BINARIES:
            p.expect(os.access(os.path.join(destdir, binary), os.X_OK),
                     f"build-image-root.sh did not install {binary}")
        if p.items:
            return p.report()

        declared = package_list("runtime-packages.txt")
        missing = [pkg for pkg in declared if not installed(pkg)]
        if missing:
            die(f"runtime packages not installed here: {missing} (packaging/bootstrap.sh deps)")
        closure = dependency_closure(declared)
        for binary in BINARIES[:2]:
            libraries, unresolved = resolved_libraries(os.path.join(destdir, binary))
            p.expect(not unresolved, f"{binary}: unresolved libraries {unresolved}")
            for library in libraries:
                owner = owner_of(library)
                p.expect(owner in closure, f"{binary} loads {library} from package {owner}, "
                         "which runtime-packages.txt does not bring in")

        for package in BASE_IMAGE_PACKAGES:
            essential = run(["dpkg-query", "-W", "-f=${Essential}", package]).stdout.strip()
            p.expect(essential == "yes", f"{package} is not Essential: debian:12-slim may lack it")
        root = os.path.join(tmp, "root")
        in_root = dependency_closure(declared + list(BASE_IMAGE_PACKAGES))
        make_root(root, {pkg for pkg in in_root if installed(pkg)}, destdir)

        for binary, expected in (("herald-server", r"^herald-server \d"),
                                 ("heraldctl", r"\d+\.\d+")):
            result = run([shutil.which("chroot"), root, f"/usr/bin/{binary}", "--version"], env={},
                         timeout=60)
            p.expect(result.returncode == 0 and re.search(expected, result.stdout),
                     f"{binary} --version in the runtime root: exit {result.returncode}, "
                     f"{result.stdout.strip()} {result.stderr.strip()}")

        try:
            serve_in_root(p, root)
        except NodeFailed as error:
            p.expect(False, f"no node in the runtime root: {error}")
        print(f"runtime root: {len(closure)} packages in the closure of {declared}")
    return p.report()


if __name__ == "__main__":
    sys.exit(main())
