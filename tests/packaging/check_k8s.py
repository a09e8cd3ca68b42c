"""Checks packaging/k8s/ without a cluster.

Schema: every object is checked field by field against the Kubernetes API models that Debian's
python3-kubernetes ships (unknown fields, wrong types, missing required fields). Meaning: the
values that must agree with herald-server (probe paths and ports, HERALD_* names, the settings
themselves, which a real node is started with) and with each other (selectors and labels, the
PodDisruptionBudget, the grace period against the drain, the image's uid).

    /usr/bin/python3 check_k8s.py      (ctest runs it; label "packaging")
"""

import copy
import glob
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from herald_check import (Node, NodeFailed, Problems, duration_ms, listen_port,  # noqa: E402
                          require_module, server_binary, server_settings, source_dir)

yaml = require_module("yaml", "python3-yaml")
kube = require_module("kubernetes.client", "python3-kubernetes")

ROOT = source_dir()
K8S = os.path.join(ROOT, "packaging", "k8s")
# The kinds these manifests use, and their stable API versions.
KINDS = {("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"), ("apps/v1", "Deployment"),
         ("policy/v1", "PodDisruptionBudget")}
PRIMITIVES = {"str": (str,), "int": (int,), "bool": (bool,), "float": (int, float),
              "datetime": (str,), "date": (str,)}


# ---- schema ----

def schema_errors(value, type_name, where):
    """Field-by-field check of a manifest value against a python3-kubernetes model type."""
    errors = []
    if type_name.startswith("list["):
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        for i, item in enumerate(value):
            errors += schema_errors(item, type_name[5:-1], f"{where}[{i}]")
    elif type_name.startswith("dict("):
        inner = re.match(r"dict\(([^,]+), (.+)\)$", type_name).group(2)
        if not isinstance(value, dict):
            return [f"{where}: expected a mapping"]
        for key, item in value.items():
            errors += schema_errors(item, inner, f"{where}.{key}")
    elif type_name == "object":
        pass  # IntOrString and free-form fields
    elif type_name in PRIMITIVES:
        ok = isinstance(value, PRIMITIVES[type_name])
        if type_name in ("int", "float") and isinstance(value, bool):
            ok = False
        if not ok:
            errors.append(f"{where}: expected {type_name}, got {value!r}")
    else:
        model = getattr(kube, type_name, None)
        if model is None:
            return [f"{where}: unknown model {type_name}"]
        if not isinstance(value, dict):
            return [f"{where}: expected a {type_name} mapping"]
        fields = {json: attr for attr, json in model.attribute_map.items()}
        for key, item in value.items():
            if key not in fields:
                errors.append(f"{where}: unknown field \"{key}\" for {type_name}")
            else:
                errors += schema_errors(item, model.openapi_types[fields[key]], f"{where}.{key}")
    return errors


def validate(document, where):
    api, kind = document.get("apiVersion"), document.get("kind")
    if (api, kind) not in KINDS:
        return [f"{where}: {api} {kind} is not one of {sorted(KINDS)}"]
    model = "V1" + kind
    errors = schema_errors(document, model, where)
    if not errors:
        # The models' own setters reject missing required fields and bad enum values.
        try:
            kube.ApiClient()._ApiClient__deserialize(document, model)
        except (ValueError, TypeError) as error:
            errors.append(f"{where}: {error}")
    return errors


def schema_bites(p, deployment):
    """The validator must catch a misspelt field, a wrong type and a missing required field."""
    broken = copy.deepcopy(deployment)
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    p.expect(validate(broken, "broken"), "the schema check accepted a misspelt readinessProbe")
    broken = copy.deepcopy(deployment)
    broken["spec"]["replicas"] = "3"
    p.expect(validate(broken, "broken"), "the schema check accepted replicas: \"3\"")
    broken = copy.deepcopy(deployment)
    del broken["spec"]["template"]["spec"]["containers"][0]["name"]
    p.expect(validate(broken, "broken"), "the schema check accepted a container without a name")


# ---- meaning ----

def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def load():
    documents = []
    for path in sorted(glob.glob(os.path.join(K8S, "*.yaml"))):
        if os.path.basename(path) == "kustomization.yaml":
            continue
        with open(path, encoding="utf-8") as file:
            for i, document in enumerate(yaml.safe_load_all(file)):
                if document:
                    documents.append((f"{os.path.basename(path)}#{i}", document))
    return documents


def find(documents, kind, name):
    for _, d in documents:
        if d.get("kind") == kind and d["metadata"]["name"] == name:
            return d
    return None


def dockerfile_uid():
    with open(os.path.join(ROOT, "packaging", "docker", "Dockerfile"), encoding="utf-8") as f:
        users = re.findall(r"^USER\s+(\d+)", f.read(), re.MULTILINE)
    return int(users[-1]) if users else None


def check_kustomization(p, documents):
    with open(os.path.join(K8S, "kustomization.yaml"), encoding="utf-8") as file:
        kustomization = yaml.safe_load(file)
    files = {os.path.basename(f) for f in glob.glob(os.path.join(K8S, "*.yaml"))}
    p.expect(set(kustomization.get("resources", [])) == files - {"kustomization.yaml"},
             f"kustomization.yaml resources {kustomization.get('resources')} != files {files}")
    return {i["name"] for i in kustomization.get("images", [])}


def port_number(container, port):
    if isinstance(port, int):
        return port
    for entry in container.get("ports", []):
        if entry.get("name") == port:
            return entry["containerPort"]
    return None


def check_server(p, documents, settings, images):
    deployment = find(documents, "Deployment", "herald")
    if not p.expect(deployment is not None, "no Deployment named herald"):
        return
    schema_bites(p, deployment)
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    p.expect(spec.get("replicas") == 3, f"herald: replicas {spec.get('replicas')}, expected 3")
    p.expect(matches(spec["selector"]["matchLabels"], labels),
             "herald: the selector does not match the pod template's labels")
    containers = [c for c in pod["containers"] if c["name"] == "herald"]
    if not p.expect(len(containers) == 1, "herald: no container named herald"):
        return
    c = containers[0]
    p.expect(c["image"].split(":")[0] in images,
             f"herald: image {c['image']} is not the one kustomization.yaml sets")

    config = find(documents, "ConfigMap", "herald-config") or {"data": {}}
    env_from = {("config" if "configMapRef" in e else "secret"):
                (e.get("configMapRef") or e.get("secretRef"))["name"] for e in c.get("envFrom", [])}
    secret = find(documents, "Secret", env_from.get("secret", ""))
    p.expect(find(documents, "ConfigMap", env_from.get("config", "")) is not None,
             "herald: envFrom names no ConfigMap of these manifests")
    p.expect(secret is not None, "herald: envFrom names no Secret of these manifests")
    secret = secret or {"stringData": {}}
    secret_values = dict(secret.get("stringData", {}))
    for key in config["data"]:
        p.expect(key in settings, f"ConfigMap key {key} is not a herald-server setting")
    for key in secret_values:
        p.expect(key in settings or not key.startswith("HERALD_"),
                 f"Secret key {key} looks like a setting but herald-server has none")
    for entry in c.get("env", []):
        p.expect(entry["name"] in settings, f"herald: env {entry['name']} is not a setting")

    listen = config["data"].get("HERALD_LISTEN", "0.0.0.0:8080")
    ports = {e.get("name"): e["containerPort"] for e in c.get("ports", [])}
    p.expect(ports.get("http") == listen_port(listen),
             f"herald: containerPort 'http' {ports.get('http')} is not HERALD_LISTEN's port")
    probes = {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}
    for probe, path in probes.items():
        get = c.get(probe, {}).get("httpGet", {})
        p.expect(get.get("path") == path, f"herald: {probe} path {get.get('path')}, want {path}")
        p.expect(port_number(c, get.get("port")) == listen_port(listen),
                 f"herald: {probe} port {get.get('port')} is not the node's port")

    # Grace: the preStop sleep, then SIGTERM's drain (shutdown_drain) and goodbye
    # (shutdown_grace), then the leave message (up to 1 s), all within
    # terminationGracePeriodSeconds; an admin's drain (drain_period) happens before any of it.
    command = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    sleep_s = float(command[1]) if len(command) == 2 and command[0].endswith("sleep") else None
    p.expect(sleep_s is not None and 1 <= sleep_s <= 30,
             f"herald: preStop should be [/bin/sleep, N] with N in 1..30, got {command}")
    shutdown = duration_ms(config["data"].get("HERALD_SHUTDOWN_GRACE", "2s")) / 1000
    drain = duration_ms(config["data"].get("HERALD_SHUTDOWN_DRAIN", "0s")) / 1000
    p.expect(drain > 0, "herald: HERALD_SHUTDOWN_DRAIN should be set so a deleted pod's clients "
             "move gradually, not all at once")
    needed = (sleep_s or 0) + drain + shutdown + 1
    grace = pod.get("terminationGracePeriodSeconds", 30)
    p.expect(grace >= needed + 5, f"herald: terminationGracePeriodSeconds {grace} < preStop "
             f"{sleep_s} s + shutdown_drain {drain} s + shutdown_grace {shutdown} s + 1 s + 5 s")
    live = c.get("livenessProbe", {})
    p.expect(live.get("periodSeconds", 10) * live.get("failureThreshold", 3) > shutdown,
             "herald: the liveness probe could kill a node while it says goodbye")

    security = pod.get("securityContext", {})
    p.expect(security.get("runAsNonRoot") is True, "herald: runAsNonRoot must be true")
    p.expect(security.get("runAsUser") == dockerfile_uid(),
             f"herald: runAsUser {security.get('runAsUser')} is not the image's USER "
             f"{dockerfile_uid()}")

    # The secret file HERALD_JWT_SECRET_FILE names is mounted from the Secret.
    jwt_file = next((e.get("value") for e in c.get("env", [])
                     if e["name"] == "HERALD_JWT_SECRET_FILE"), None)
    if jwt_file:
        mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        found = False
        for name, path in mounts.items():
            source = volumes.get(name, {}).get("secret")
            if source and jwt_file.startswith(path.rstrip("/") + "/"):
                item = jwt_file[len(path.rstrip("/")) + 1:]
                keys = {i["path"]: i["key"] for i in source.get("items", [])} or \
                       {k: k for k in secret_values}
                found = source.get("secretName") == secret["metadata"]["name"] and \
                    keys.get(item) in secret_values
        p.expect(found, f"herald: {jwt_file} is not a key of the mounted Secret")

    for kind in ("Service", "PodDisruptionBudget"):
        obj = find(documents, kind, "herald")
        if not p.expect(obj is not None, f"no {kind} named herald"):
            continue
        selector = obj["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        p.expect(matches(selector, labels), f"{kind} herald does not select the herald pods")
        redis = find(documents, "Deployment", "herald-redis")
        if redis:
            p.expect(not matches(selector, redis["spec"]["template"]["metadata"]["labels"]),
                     f"{kind} herald also selects the Redis pod")
    service = find(documents, "Service", "herald")
    if service:
        for entry in service["spec"]["ports"]:
            p.expect(port_number(c, entry.get("targetPort", entry["port"])) is not None,
                     f"Service herald: targetPort {entry.get('targetPort')} is no container port")
    pdb = find(documents, "PodDisruptionBudget", "herald")
    if pdb:
        minimum = pdb["spec"].get("minAvailable")
        p.expect(isinstance(minimum, int) and 1 <= minimum < spec.get("replicas", 0),
                 f"PodDisruptionBudget: minAvailable {minimum} must leave room for one eviction")

    check_redis(p, documents, config["data"].get("HERALD_REDIS_URL", ""))
    run_node(p, c, config["data"], secret_values, jwt_file)


def check_redis(p, documents, url):
    match = re.match(r"^redis://(?:[^@]*@)?([^:/]+):(\d+)", url)
    if not p.expect(match, f"HERALD_REDIS_URL {url!r} names no host:port"):
        return
    host, port = match.group(1), int(match.group(2))
    service = find(documents, "Service", host)
    deployment = find(documents, "Deployment", "herald-redis")
    if not p.expect(service and deployment, f"no Service {host} and Deployment herald-redis"):
        return
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    p.expect(matches(service["spec"]["selector"], labels),
             f"Service {host} does not select the Redis pod")
    p.expect(matches(deployment["spec"]["selector"]["matchLabels"], labels),
             "herald-redis: the selector does not match the pod template's labels")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    entries = [e for e in service["spec"]["ports"] if e["port"] == port]
    p.expect(entries and port_number(container, entries[0].get("targetPort", port)) == 6379,
             f"Service {host}: port {port} does not lead to Redis's 6379")


def run_node(p, container, config, secret, jwt_file):
    """A real node with these settings starts, and the probe paths answer as the probes expect:
    alive (200) but not ready (503) while its Redis is unreachable."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update({k: v for k, v in config.items()})
    env.update({k: v for k, v in secret.items() if k.startswith("HERALD_")})
    # Nothing listens on port 1: the node starts with Redis down.
    env["HERALD_REDIS_URL"] = "redis://127.0.0.1:1"
    with tempfile.TemporaryDirectory() as tmp:
        for entry in container.get("env", []):
            if "value" in entry:
                env[entry["name"]] = entry["value"]
            elif entry.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name":
                env[entry["name"]] = "herald-7d9c6b5f4-x2x9q"  # a pod name
        if jwt_file:
            env["HERALD_JWT_SECRET_FILE"] = os.path.join(tmp, "jwt-secret")
            with open(env["HERALD_JWT_SECRET_FILE"], "w", encoding="utf-8") as file:
                file.write(secret.get("jwt-secret", ""))
        try:
            with Node([server_binary()], env=env) as node:
                p.expect(node.get("/healthz") == 200,
                         "with the manifests' settings /healthz does not answer 200")
                p.expect(node.get("/readyz") == 503,
                         "/readyz does not answer 503 while Redis is unreachable")
                p.expect(node.stop() == 0, f"the node did not stop cleanly: {node.output}")
        except NodeFailed as error:
            p.expect(False, f"herald-server refuses the manifests' settings: {error}")


def main():
    p = Problems("check_k8s")
    settings = server_settings()
    documents = load()
    for where, document in documents:
        errors = validate(document, where)
        p.expect(not errors, "; ".join(errors))
    images = check_kustomization(p, documents)
    check_server(p, documents, settings, images)
    return p.report()


if __name__ == "__main__":
    sys.exit(main())
