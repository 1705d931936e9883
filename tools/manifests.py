"""Checks the deployment files offline (`make lint`): the Kubernetes manifests and the CI workflow.

``python -m tools.manifests check --kustomize BIN --actionlint BIN`` renders every Kustomization under
deploy/kubernetes (the base and each overlay) with kustomize, validates every object against the Kubernetes API
schemas of the oldest and newest Kubernetes versions we support (the kubernetes-validate package ships them; strict,
so an unknown field is an error), checks what the schemas cannot (below: among them, that only the gateway is
reached from outside and whom each service's NetworkPolicy admits), and runs actionlint on the workflows.
The Makefile builds kustomize and actionlint from their Go modules at pinned versions into .local/.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from contracts.topics import KEYED_PARTITIONS

ROOT = Path(__file__).resolve().parents[1]
KUBERNETES = ROOT / "deploy" / "kubernetes"
WORKFLOWS = ROOT / ".github" / "workflows"
KUBERNETES_VERSIONS = ("1.30", "1.37")
"""The oldest (native preStop sleep, matchLabelKeys) and the newest version the manifests must be valid for."""
SECRET_SUFFIXES = ("_PASSWORD", "_API_KEY", "_DATABASE_URL", "_SECRET")
"""Variables that carry credentials: only ever from a Secret the cluster holds, never a value in the files."""
FRONT_DOOR = "gateway"
"""The one Deployment reached from outside the cluster: the only Ingress backend, the only non-ClusterIP Service."""
CALLERS: dict[str, set[str] | None] = {
    FRONT_DOOR: None,
    "catalog": {FRONT_DOOR, "coordinator"},  # the coordinator's dashboard changes stock through catalog's API
    "orders": {FRONT_DOOR},
    "payment": {FRONT_DOOR},
    "coordinator": {FRONT_DOOR},
}
"""Whose pods each Deployment's NetworkPolicy admits (by ``app.kubernetes.io/name``); None: anyone."""

COPIES = {("postgres-init", "init-databases.sql"): ROOT / "infra" / "compose" / "init-databases.sql"}
"""ConfigMap entries that must stay the same as a file outside the Kustomization (kustomize reads none)."""

Manifest = dict[str, Any]


def kustomizations() -> list[Path]:
    """Every directory under deploy/kubernetes with a kustomization.yaml: the base and the overlays."""
    return sorted(path.parent for path in KUBERNETES.rglob("kustomization.yaml"))


def render(kustomize: str, directory: Path) -> list[Manifest]:
    """The objects ``kustomize build`` makes of ``directory``."""
    built = subprocess.run([kustomize, "build", str(directory)], capture_output=True, text=True, check=False)
    if built.returncode != 0:
        raise SystemExit(f"kustomize build {directory.relative_to(ROOT)}: {built.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(built.stdout) if doc]


def schema_errors(manifest: Manifest) -> Iterator[str]:
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            yield f"Kubernetes {version}: {'.'.join(map(str, error.path))}: {error.message}"
        except kubernetes_validate.SchemaNotFoundError:
            yield f"Kubernetes {version} has no {manifest['kind']} in {manifest['apiVersion']}"


def pod_errors(pod: Manifest) -> Iterator[str]:
    """A pod spec's rules: non-root, read-only root with /tmp writable, no privileges, bounded resources, no
    credential written into the files."""
    if not pod.get("securityContext", {}).get("runAsNonRoot"):
        yield "pod may run as root (securityContext.runAsNonRoot)"
    scratch = {volume["name"] for volume in pod.get("volumes", []) if "emptyDir" in volume}
    for container in pod["containers"]:
        security = container.get("securityContext", {})
        if not security.get("readOnlyRootFilesystem"):
            yield f"{container['name']}: root filesystem is writable"
        if security.get("allowPrivilegeEscalation") is not False:
            yield f"{container['name']}: privilege escalation allowed"
        if "ALL" not in security.get("capabilities", {}).get("drop", []):
            yield f"{container['name']}: capabilities not dropped"
        if not any(m["mountPath"] == "/tmp" and m["name"] in scratch for m in container.get("volumeMounts", [])):
            yield f"{container['name']}: no emptyDir on /tmp"
        resources = container.get("resources", {})
        for bound in ("requests", "limits"):
            if set(resources.get(bound, {})) != {"cpu", "memory"}:
                yield f"{container['name']}: resources.{bound} needs cpu and memory"
        for variable in container.get("env", []):
            if variable["name"].endswith(SECRET_SUFFIXES) and "secretKeyRef" not in variable.get("valueFrom", {}):
                yield f"{container['name']}: {variable['name']} must come from a Secret (secretKeyRef)"


def service_errors(deployment: Manifest, objects: dict[tuple[str, str], Manifest]) -> Iterator[str]:
    """A service's rules: probes on /health, an autoscaler that keeps two replicas at least and owns the count
    (the Deployment sets none, else every apply resets it) within the partitions, a disruption budget and a
    Service."""
    name = deployment["metadata"]["name"]
    if "replicas" in deployment["spec"]:
        yield "sets spec.replicas: its HorizontalPodAutoscaler owns the count (minReplicas keeps two)"
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if container.get(probe, {}).get("httpGet", {}).get("path") != "/health":
                yield f"{container['name']}: {probe} is not on /health"
    scaler = objects.get(("HorizontalPodAutoscaler", name))
    if scaler is None:
        yield "no HorizontalPodAutoscaler"
    elif not 2 <= scaler["spec"]["minReplicas"] <= scaler["spec"]["maxReplicas"] <= KEYED_PARTITIONS:
        yield f"its HorizontalPodAutoscaler must keep 2 <= replicas <= {KEYED_PARTITIONS} (the topics' partitions)"
    for kind in ("PodDisruptionBudget", "Service"):
        if (kind, name) not in objects:
            yield f"no {kind}"


def network_errors(deployment: Manifest, objects: dict[tuple[str, str], Manifest]) -> Iterator[str]:
    """A Deployment's NetworkPolicy: one of its name, selecting its pods, admitting exactly its ``CALLERS``."""
    name = deployment["metadata"]["name"]
    policy = objects.get(("NetworkPolicy", name))
    if name not in CALLERS:
        yield "has no entry in tools/manifests.py CALLERS (who may call it)"
        return
    if policy is None:
        yield "no NetworkPolicy"
        return
    spec = policy["spec"]
    if spec["podSelector"].get("matchLabels") != {"app.kubernetes.io/name": name}:
        yield f"NetworkPolicy/{name} does not select exactly its pods"
    if "Ingress" not in spec.get("policyTypes", []):
        yield f"NetworkPolicy/{name} does not restrict ingress"
    wanted = CALLERS[name]
    if wanted is None:
        return
    rules = spec.get("ingress", [])
    if any("from" not in rule for rule in rules):
        yield f"NetworkPolicy/{name} admits anyone; only {', '.join(sorted(wanted))} may call it"
    admitted = set()
    for peer in (peer for rule in rules for peer in rule.get("from", [])):
        caller = peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
        if set(peer) != {"podSelector"} or caller is None:
            yield f"NetworkPolicy/{name} admits {peer}: only pods named by app.kubernetes.io/name may call it"
        admitted.add(caller)
    if admitted - {None} != wanted:
        yield f"NetworkPolicy/{name} admits {sorted(admitted - {None})}, not {sorted(wanted)}"


def exposure_errors(kind: str, manifest: Manifest) -> Iterator[str]:
    """Only the gateway is reached from outside: the only Ingress backend, the only Service not ClusterIP."""
    if kind == "Ingress":
        spec = manifest["spec"]
        paths = [path for rule in spec.get("rules", []) for path in rule.get("http", {}).get("paths", [])]
        backends = [path["backend"] for path in paths] + ([spec["defaultBackend"]] if "defaultBackend" in spec else [])
        for backend in backends:
            if backend.get("service", {}).get("name") != FRONT_DOOR:
                yield f"routes to {backend}: only the {FRONT_DOOR} has an Ingress"
    exposed = kind == "Service" and manifest["spec"].get("type", "ClusterIP") != "ClusterIP"
    if exposed and manifest["metadata"]["name"] != FRONT_DOOR:
        yield f"is {manifest['spec']['type']}: only the {FRONT_DOOR} is exposed (through its Ingress)"


def errors(manifests: list[Manifest]) -> Iterator[str]:
    """Everything wrong with one rendered Kustomization."""
    objects = {(m["kind"], m["metadata"]["name"]): m for m in manifests}
    for (kind, name), manifest in objects.items():
        where = f"{kind}/{name}"
        if invalid := list(schema_errors(manifest)):
            yield from (f"{where}: {error}" for error in invalid)
            continue  # the rules below read the fields the schema guarantees
        if kind == "Secret":
            yield f"{where}: secret values must not be committed (the cluster holds the Secret)"
        if kind in ("Deployment", "Job"):
            yield from (f"{where}: {error}" for error in pod_errors(manifest["spec"]["template"]["spec"]))
        if kind == "Deployment":
            yield from (f"{where}: {error}" for error in service_errors(manifest, objects))
            yield from (f"{where}: {error}" for error in network_errors(manifest, objects))
        yield from (f"{where}: {error}" for error in exposure_errors(kind, manifest))
        if kind == "ConfigMap":
            data = manifest.get("data", {})
            yield from (f"{where}: {key} must come from a Secret" for key in data if key.endswith(SECRET_SUFFIXES))
            for key, value in data.items():
                source = COPIES.get((name, key))
                if source is not None and value != source.read_text():
                    yield f"{where}: {key} differs from {source.relative_to(ROOT)}"


def check(kustomize: str, actionlint: str) -> list[str]:
    """Every problem found, one line each (empty when all is well)."""
    problems: list[str] = []
    for directory in kustomizations():
        where = directory.relative_to(ROOT)
        problems += [f"{where}: {error}" for error in errors(render(kustomize, directory))]
    linted = subprocess.run([actionlint, "-no-color"], cwd=ROOT, capture_output=True, text=True, check=False)
    problems += linted.stdout.splitlines() + linted.stderr.splitlines()
    return problems


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.manifests check --kustomize BIN --actionlint BIN``."""
    parser = argparse.ArgumentParser(prog="python -m tools.manifests", description=__doc__)
    parser.add_argument("action", choices=["check"])
    parser.add_argument("--kustomize", required=True, help="the kustomize binary")
    parser.add_argument("--actionlint", required=True, help="the actionlint binary")
    args = parser.parse_args(argv)
    problems = check(args.kustomize, args.actionlint)
    for problem in problems:
        print(problem, file=sys.stderr)
    rendered = ", ".join(str(d.relative_to(ROOT)) for d in kustomizations())
    print(f"{len(problems)} problems in {rendered} and {WORKFLOWS.relative_to(ROOT)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
