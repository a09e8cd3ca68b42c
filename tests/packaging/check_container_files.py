"""Checks packaging/docker/: the Dockerfile's instructions that matter, and compose.yaml through
Debian's docker-compose (which validates it against the Compose file schema) plus the values
that must agree with herald-server and with each other. No container engine is needed.

    /usr/bin/python3 check_container_files.py      (ctest runs it; label "packaging")
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from herald_check import (Node, Problems, die, duration_ms, listen_port,  # noqa: E402
                          require_module, server_settings, source_dir)

yaml = require_module("yaml", "python3-yaml")

ROOT = source_dir()
DOCKER = os.path.join(ROOT, "packaging", "docker")
NON_ROOT_UID = 10001


def dockerfile_instructions(path):
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    result, pending = [], ""
    with open(path, encoding="utf-8") as file:
        for raw in file:
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if pending and line.lstrip().startswith("#"):
                continue  # comment lines inside a continued instruction are dropped
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            text = (pending + line).strip()
            pending = ""
            word, _, rest = text.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def stages_of(instructions):
    """[{'from': image, 'name': alias, 'body': [(INSTR, args), ...]}]"""
    stages = []
    for word, args in instructions:
        if word == "FROM":
            parts = [p for p in args.split() if not p.startswith("--")]
            name = parts[2] if len(parts) >= 3 and parts[1].lower() == "as" else None
            stages.append({"from": parts[0], "name": name, "body": []})
        elif stages:
            stages[-1]["body"].append((word, args))
        else:
            stages.append({"from": None, "name": None, "body": [(word, args)]})
    return stages


def exec_form(args):
    try:
        value = json.loads(args)
        return value if isinstance(value, list) else None
    except ValueError:
        return None


def check_dockerfile(p, settings):
    path = os.path.join(DOCKER, "Dockerfile")
    instructions = dockerfile_instructions(path)
    stages = stages_of(instructions)
    p.expect(len(stages) >= 2 and stages[0]["from"] is not None,
             f"Dockerfile: expected a build stage and a runtime stage, got {len(stages)} stage(s)")
    if len(stages) < 2:
        return {}
    build, runtime = stages[0], stages[-1]
    p.expect(build["from"] in ("debian:12", "debian:bookworm") and build["name"],
             "Dockerfile: the build stage must be a named Debian 12 stage, "
             f"got FROM {build['from']}")
    p.expect(runtime["from"] in ("debian:12-slim", "debian:bookworm-slim"),
             f"Dockerfile: the runtime stage must be debian:12-slim, got {runtime['from']}")

    for word, args in instructions:
        p.expect(not (word == "ADD" and re.search(r"\b(https?|ftp|git)://|git@", args)),
                 f"Dockerfile: ADD of a URL: {args}")
        p.expect(word != "MAINTAINER", "Dockerfile: MAINTAINER is deprecated")

    build_runs = " ".join(a for w, a in build["body"] if w == "RUN")
    p.expect("packaging/docker/build-image-root.sh" in build_runs,
             "Dockerfile: the build stage must run packaging/docker/build-image-root.sh "
             "(the same steps the image-root test runs)")
    p.expect(any(w == "COPY" and "build-packages.txt" in a for w, a in build["body"])
             and "build-packages.txt" in build_runs,
             "Dockerfile: the build stage must install packaging/docker/build-packages.txt")

    body = runtime["body"]
    runs = [a for w, a in body if w == "RUN"]
    p.expect(any(w == "COPY" and "runtime-packages.txt" in a for w, a in body)
             and any("runtime-packages.txt" in r for r in runs),
             "Dockerfile: the runtime stage must install packaging/docker/runtime-packages.txt")
    p.expect(any(w == "COPY" and f"--from={build['name']}" in a for w, a in body),
             f"Dockerfile: the runtime stage must copy from the '{build['name']}' stage")
    p.expect(not any(w == "RUN" and re.search(r"\b(cmake|g\+\+|ninja)\b", a) for w, a in body),
             "Dockerfile: the runtime stage must not compile anything")

    users = [(i, a) for i, (w, a) in enumerate(body) if w == "USER"]
    last_run = max((i for i, (w, _) in enumerate(body) if w == "RUN"), default=-1)
    if p.expect(users, "Dockerfile: the runtime stage has no USER"):
        index, user = users[-1]
        uid = user.split(":")[0]
        p.expect(uid.isdigit() and int(uid) != 0,
                 f"Dockerfile: USER must be a numeric non-root uid (for runAsNonRoot), got {user}")
        p.expect(index > last_run, "Dockerfile: USER must come after the last RUN")
        p.expect(any(f"--uid {uid}" in r for r in runs),
                 f"Dockerfile: no user with uid {uid} is created")
        p.expect(uid == str(NON_ROOT_UID),
                 f"Dockerfile: uid {uid} differs from {NON_ROOT_UID} (packaging/k8s runAsUser)")

    env = {}
    for word, args in body:
        if word == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                env[key] = value
    for key in env:
        p.expect(key in settings, f"Dockerfile: ENV {key} is not a herald-server setting")
    listen = env.get("HERALD_LISTEN", "0.0.0.0:8080")
    exposed = [a for w, a in body if w == "EXPOSE"]
    p.expect(exposed and exposed[0].split("/")[0] == str(listen_port(listen)),
             f"Dockerfile: EXPOSE {exposed} does not match HERALD_LISTEN {listen}")

    health = [a for w, a in body if w == "HEALTHCHECK"]
    command = None
    if p.expect(len(health) == 1, "Dockerfile: the runtime stage needs one HEALTHCHECK"):
        _, _, cmd = health[0].partition("CMD")
        command = exec_form(cmd.strip())
        p.expect(command and command[0] == "/usr/bin/herald-healthcheck"
                 and "/healthz" in command,
                 f"Dockerfile: HEALTHCHECK must run herald-healthcheck on /healthz: {health[0]}")
    entry = [exec_form(a) for w, a in body if w == "ENTRYPOINT"]
    p.expect(entry and entry[-1] and entry[-1][0] == "/usr/bin/herald-server",
             "Dockerfile: ENTRYPOINT must be herald-server in exec form (PID 1 gets SIGTERM)")
    p.expect(not any(w == "CMD" for w, _ in body),
             "Dockerfile: settings come from HERALD_* variables, not CMD arguments")

    ignore = os.path.join(DOCKER, "Dockerfile.dockerignore")
    if p.expect(os.path.exists(ignore), "Dockerfile.dockerignore is missing"):
        with open(ignore, encoding="utf-8") as file:
            lines = {line.strip() for line in file}
        p.expect({"build", ".git"} <= lines, "Dockerfile.dockerignore must exclude build and .git")
    return {"env": env, "listen": listen, "healthcheck": command}


def check_package_lists(p):
    """What the image's build stage installs is what bootstrap.sh installs for a build, so the
    image-root test can run build-image-root.sh on any machine bootstrap.sh prepared."""
    with open(os.path.join(ROOT, "packaging", "bootstrap.sh"), encoding="utf-8") as file:
        match = re.search(r"^BUILD_PACKAGES=\(([^)]*)\)", file.read(), re.MULTILINE)
    bootstrap = set(match.group(1).split()) if match else set()
    with open(os.path.join(DOCKER, "build-packages.txt"), encoding="utf-8") as file:
        wanted = {line.split("#")[0].strip() for line in file} - {""}
    p.expect(wanted and wanted <= bootstrap, "build-packages.txt has packages bootstrap.sh's "
             f"BUILD_PACKAGES lacks: {sorted(wanted - bootstrap)}")


def compose_config(path, env):
    return subprocess.run(["docker-compose", "-f", path, "config"], capture_output=True,
                          text=True, env=env, timeout=120)


def check_compose(p, settings, image):
    if not shutil.which("docker-compose"):
        die("docker-compose not found: apt-get install docker-compose (Debian's; it validates "
            "compose.yaml against the Compose schema; packaging/bootstrap.sh test installs it)")
    path = os.path.join(DOCKER, "compose.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env.pop("DOCKER_HOST", None)
    result = compose_config(path, env)
    if not p.expect(result.returncode == 0,
                    f"docker-compose config rejects compose.yaml: {result.stderr.strip()}"):
        return
    # The validator must bite: the same file with a misspelt key is refused.
    with open(path, encoding="utf-8") as file:
        text = file.read()
    with tempfile.TemporaryDirectory() as tmp:
        broken = os.path.join(tmp, "compose.yaml")
        with open(broken, "w", encoding="utf-8") as file:
            file.write(text.replace("healthcheck:", "healthcheck_:", 1))
        p.expect(compose_config(broken, env).returncode != 0,
                 "docker-compose config accepted a compose file with an unknown key")

    config = yaml.safe_load(result.stdout)
    services = config.get("services", {})
    nodes = {name: s for name, s in services.items()
             if s.get("build", {}).get("dockerfile") == "packaging/docker/Dockerfile"}
    p.expect(len(nodes) == 3, f"compose: expected three Herald nodes, got {sorted(nodes)}")
    for name, s in nodes.items():
        context = s["build"].get("context", "")
        p.expect(os.path.realpath(context) == os.path.realpath(ROOT),
                 f"compose: {name} builds from {context}, not the repository root")
    ids = set()
    for name, s in nodes.items():
        environment = s.get("environment", {})
        for key in environment:
            p.expect(key in settings, f"compose: {name} sets {key}, not a herald-server setting")
        ids.add(environment.get("HERALD_NODE_ID"))
        redis_url = environment.get("HERALD_REDIS_URL", "")
        host = re.sub(r"^redis://(?:[^@]*@)?([^:/]+).*$", r"\1", redis_url)
        p.expect(host in services and "redis" in services[host].get("image", ""),
                 f"compose: {name}'s HERALD_REDIS_URL {redis_url!r} is not the redis service")
        grace = duration_ms(environment.get("HERALD_SHUTDOWN_GRACE", "2s"))
        stop = duration_ms(s.get("stop_grace_period", "10s"))
        p.expect(stop >= grace + 2000,
                 f"compose: {name}'s stop_grace_period must exceed HERALD_SHUTDOWN_GRACE by 2 s")
    p.expect(len(ids) == 3 and None not in ids, f"compose: node ids must differ, got {ids}")

    nginx = services.get("nginx")
    if not p.expect(nginx is not None, "compose: no nginx service"):
        return
    ports = nginx.get("ports", [])
    p.expect(len(ports) == 1, f"compose: the demo page must be on one port, got {ports}")
    for node in nodes:
        condition = nginx.get("depends_on", {}).get(node, {}).get("condition")
        p.expect(condition == "service_healthy",
                 f"compose: nginx must wait for {node} to be healthy (the image's HEALTHCHECK)")
    mounts = []
    for volume in nginx.get("volumes", []):
        if isinstance(volume, str):  # docker-compose 1.x prints the short form SRC:TARGET[:MODE]
            parts = volume.split(":")
            volume = {"source": parts[0], "target": parts[1] if len(parts) > 1 else ""}
        if volume.get("target") == "/etc/nginx/conf.d/default.conf":
            mounts.append(volume["source"])
    if p.expect(len(mounts) == 1, "compose: nginx must mount its site as conf.d/default.conf"):
        check_nginx_site(p, mounts[0], nodes, listen_port(image.get("listen", ":8080")))


def check_nginx_site(p, site, nodes, port):
    """compose's nginx site is packaging/nginx/herald.conf with only the upstream servers and
    the header comment changed, and its servers are exactly the compose nodes."""
    shipped = os.path.join(ROOT, "packaging", "nginx", "herald.conf")
    server_line = re.compile(r"^\s*server\s+(\S+)\s")

    def body(path):
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
        while lines and lines[0].startswith("#"):
            lines.pop(0)
        return [l for l in lines if not server_line.match(l)], \
               [server_line.match(l).group(1) for l in lines if server_line.match(l)]

    ours, servers = body(site)
    theirs, _ = body(shipped)
    p.expect(ours == theirs, f"{site} has drifted from packaging/nginx/herald.conf "
             "(only the upstream server lines may differ)")
    p.expect(sorted(servers) == sorted(f"{n}:{port}" for n in nodes),
             f"{site}: upstream servers {servers} are not the compose nodes on port {port}")


def main():
    p = Problems("check_container_files")
    settings = server_settings()
    image = check_dockerfile(p, settings)
    check_package_lists(p)
    # The health check's path exists on a real node.
    with Node() as node:
        for path in ("/healthz",):
            p.expect(node.get(path) == 200, f"herald-server answers GET {path} with "
                     f"{node.get(path)}, the image's HEALTHCHECK expects 200")
    check_compose(p, settings, image)
    return p.report()


if __name__ == "__main__":
    sys.exit(main())
