"""tools/manifests.py's rules that keep the services behind the gateway: whom each NetworkPolicy admits, and that
only the gateway has an Ingress or a Service reachable from outside (``make lint`` runs them on the real files)."""

from __future__ import annotations

from typing import Any

from tools.manifests import exposure_errors, network_errors

Manifest = dict[str, Any]


def _deployment(name: str) -> Manifest:
    return {"kind": "Deployment", "metadata": {"name": name}}


def _policy(name: str, *callers: str, anyone: bool = False) -> Manifest:
    peers = [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": c}}} for c in callers]
    rule: dict[str, Any] = {"ports": [{"port": "http"}]} if anyone else {"from": peers, "ports": [{"port": "http"}]}
    return {
        "kind": "NetworkPolicy",
        "metadata": {"name": name},
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "policyTypes": ["Ingress"],
            "ingress": [rule],
        },
    }


def _errors(name: str, policy: Manifest | None) -> list[str]:
    objects = {} if policy is None else {("NetworkPolicy", name): policy}
    return list(network_errors(_deployment(name), objects))


def test_the_policies_as_written_pass() -> None:
    assert _errors("catalog", _policy("catalog", "gateway", "coordinator")) == []
    assert _errors("orders", _policy("orders", "gateway")) == []
    assert _errors("gateway", _policy("gateway", anyone=True)) == []


def test_a_service_without_a_policy_or_open_to_anyone_is_refused() -> None:
    assert _errors("orders", None) == ["no NetworkPolicy"]
    assert _errors("orders", _policy("orders", anyone=True)) == [
        "NetworkPolicy/orders admits anyone; only gateway may call it",
        "NetworkPolicy/orders admits [], not ['gateway']",
    ]


def test_a_policy_admitting_another_caller_or_a_namespace_is_refused() -> None:
    assert _errors("payment", _policy("payment", "gateway", "coordinator")) == [
        "NetworkPolicy/payment admits ['coordinator', 'gateway'], not ['gateway']"
    ]
    policy = _policy("coordinator", "gateway")
    policy["spec"]["ingress"][0]["from"].append({"namespaceSelector": {}})
    assert _errors("coordinator", policy)[0].startswith("NetworkPolicy/coordinator admits {'namespaceSelector': {}}")


def test_a_deployment_nobody_listed_is_refused() -> None:
    assert _errors("inventory", _policy("inventory", "gateway")) == [
        "has no entry in tools/manifests.py CALLERS (who may call it)"
    ]


def test_only_the_gateway_has_an_ingress_or_leaves_the_cluster() -> None:
    def ingress(service: str) -> Manifest:
        backend = {"service": {"name": service, "port": {"name": "http"}}}
        return {"spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}]}}

    assert list(exposure_errors("Ingress", ingress("gateway"))) == []
    assert len(list(exposure_errors("Ingress", ingress("orders")))) == 1
    node_port = {"metadata": {"name": "coordinator"}, "spec": {"type": "NodePort"}}
    assert list(exposure_errors("Service", node_port)) == [
        "is NodePort: only the gateway is exposed (through its Ingress)"
    ]
    assert list(exposure_errors("Service", {"metadata": {"name": "orders"}, "spec": {}})) == []
    assert list(exposure_errors("Service", {"metadata": {"name": "gateway"}, "spec": {"type": "LoadBalancer"}})) == []
