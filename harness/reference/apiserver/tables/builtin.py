"""The table columns of the built-in kinds the embedded server serves.

Names, types, formats, priorities and cells as kube-apiserver v1.37 serves them (all columns,
the wide ones at priority 1; measured by tests/apiserver/test_tables.py). The descriptions of
the kind-specific columns are this server's own short ones. Pods and deployments are plain
objects here (nothing runs them), so their cells show whatever status was written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from harness.reference.apiserver.tables.columns import (
    CREATED_DESCRIPTION,
    NAME_COLUMN,
    Column,
    Printer,
)
from harness.reference.apiserver.tables.go_values import age

AGE = Column("Age", description=CREATED_DESCRIPTION)
NONE = "<none>"


def _name(obj: dict[str, Any]) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def _age(obj: dict[str, Any], now: datetime) -> str:
    return age(obj.get("metadata", {}).get("creationTimestamp"), now)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# --- namespaces, configmaps, secrets, serviceaccounts, leases ---------------------------------


def _namespace(obj: dict[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), str(_dict(obj.get("status")).get("phase") or ""), _age(obj, now)]


def _configmap(obj: dict[str, Any], now: datetime) -> list[Any]:
    count = len(_dict(obj.get("data"))) + len(_dict(obj.get("binaryData")))
    return [_name(obj), count, _age(obj, now)]


def _secret(obj: dict[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), str(obj.get("type") or ""), len(_dict(obj.get("data"))), _age(obj, now)]


def _service_account(obj: dict[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), _age(obj, now)]


def _lease(obj: dict[str, Any], now: datetime) -> list[Any]:
    holder = _dict(obj.get("spec")).get("holderIdentity")
    return [_name(obj), holder if isinstance(holder, str) else "", _age(obj, now)]


# --- events -----------------------------------------------------------------------------------


def _event(obj: dict[str, Any], now: datetime) -> list[Any]:
    first = age(obj.get("firstTimestamp"), now)
    if not obj.get("firstTimestamp"):
        first = age(obj.get("eventTime"), now)
    last = age(obj.get("lastTimestamp"), now) if obj.get("lastTimestamp") else first
    count = _int(obj.get("count"))
    series = obj.get("series")
    if isinstance(series, dict):
        last = age(series.get("lastObservedTime"), now)
        count = _int(series.get("count"))
    elif count == 0:
        count = 1
    involved = _dict(obj.get("involvedObject"))
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = _dict(obj.get("source"))
    component = source.get("component") or obj.get("reportingComponent") or ""
    instance = source.get("host") or obj.get("reportingInstance") or ""
    return [
        last,
        str(obj.get("type") or ""),
        str(obj.get("reason") or ""),
        target,
        str(involved.get("fieldPath") or ""),
        f"{component}, {instance}" if instance else component,
        str(obj.get("message") or "").strip(),
        first,
        count,
        _name(obj),
    ]


# --- deployments and pods ---------------------------------------------------------------------


def selector_text(selector: Any) -> str:
    """A label selector as `labels.Selector.String()` writes it (requirements by key)."""
    if not isinstance(selector, dict):
        return ""
    requirements: list[tuple[str, str]] = []
    for key, value in sorted(_dict(selector.get("matchLabels")).items()):
        requirements.append((key, f"{key}={value}"))
    for expression in (_dict(e) for e in _list(selector.get("matchExpressions"))):
        key = str(expression.get("key", ""))
        values = ",".join(sorted(str(v) for v in _list(expression.get("values"))))
        operator = expression.get("operator")
        text = {
            "In": f"{key} in ({values})",
            "NotIn": f"{key} notin ({values})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
        }.get(str(operator))
        if text is None:
            return "<invalid>"
        requirements.append((key, text))
    requirements.sort(key=lambda requirement: requirement[0])
    return ",".join(text for _, text in requirements)


def _deployment(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    replicas = spec.get("replicas", 1)
    pod_spec = _dict(_dict(spec.get("template")).get("spec"))
    containers = [_dict(c) for c in _list(pod_spec.get("containers"))]
    return [
        _name(obj),
        f"{_int(status.get('readyReplicas'))}/{_int(replicas)}",
        _int(status.get("updatedReplicas")),
        _int(status.get("availableReplicas")),
        _age(obj, now),
        ",".join(str(c.get("name", "")) for c in containers),
        ",".join(str(c.get("image", "")) for c in containers),
        selector_text(spec.get("selector")),
    ]


def _pod(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    phase = str(status.get("phase") or "")
    reason = str(status.get("reason") or phase)
    total = len(_list(spec.get("containers")))
    ready = restarts = 0
    last_restart = ""
    has_running = False
    error_reason = ""
    for container in reversed([_dict(c) for c in _list(status.get("containerStatuses"))]):
        restarts += _int(container.get("restartCount"))
        finished = _dict(_dict(container.get("lastState")).get("terminated")).get("finishedAt")
        if isinstance(finished, str) and finished > last_restart:
            last_restart = finished
        state = _dict(container.get("state"))
        waiting, terminated = _dict(state.get("waiting")), state.get("terminated")
        if waiting.get("reason"):
            reason = str(waiting["reason"])
        elif isinstance(terminated, dict):
            code = _int(terminated.get("exitCode"))
            if terminated.get("reason"):
                reason = str(terminated["reason"])
            elif terminated.get("signal"):
                reason = f"Signal:{terminated['signal']}"
            else:
                reason = f"ExitCode:{code}"
            if code != 0:
                error_reason = reason
        elif container.get("ready") and isinstance(state.get("running"), dict):
            has_running = True
            ready += 1
    if reason == "Completed":
        conditions = [_dict(c) for c in _list(status.get("conditions"))]
        if has_running and any(c.get("type") == "Ready" for c in conditions):
            reason = "Running"
        elif error_reason:
            reason = error_reason
        elif has_running:
            reason = "NotReady"
    if obj.get("metadata", {}).get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    restarts_text = str(restarts)
    if restarts and last_restart:
        restarts_text = f"{restarts} ({age(last_restart, now)} ago)"
    ips = [_dict(ip).get("ip") for ip in _list(status.get("podIPs"))]
    gates = _list(spec.get("readinessGates"))
    gates_text = NONE
    if gates:
        true = {
            c.get("type")
            for c in (_dict(c) for c in _list(status.get("conditions")))
            if c.get("status") == "True"
        }
        passed = sum(1 for gate in gates if _dict(gate).get("conditionType") in true)
        gates_text = f"{passed}/{len(gates)}"
    return [
        _name(obj),
        f"{ready}/{total}",
        reason,
        restarts_text,
        _age(obj, now),
        ips[0] if ips and ips[0] else NONE,
        spec.get("nodeName") or NONE,
        status.get("nominatedNodeName") or NONE,
        gates_text,
    ]


def _pod_conditions(obj: dict[str, Any]) -> list[dict[str, Any]] | None:
    phase = _dict(obj.get("status")).get("phase")
    if phase == "Succeeded":
        return [
            {
                "type": "Completed",
                "status": "True",
                "reason": "Succeeded",
                "message": "The pod has completed successfully.",
            }
        ]
    if phase == "Failed":
        failed = {"type": "Completed", "status": "True", "reason": "Failed"}
        return [{**failed, "message": "The pod failed."}]
    return None


# --- custom resource definitions --------------------------------------------------------------


def _crd(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec = _dict(obj.get("spec"))
    versions = sorted(
        str(v.get("name")) + ("(storage)" if v.get("storage") else "")
        for v in (_dict(v) for v in _list(spec.get("versions")))
        if v.get("served")
    )
    conditions = _list(_dict(obj.get("status")).get("conditions"))
    established = any(
        _dict(c).get("type") == "Established" and _dict(c).get("status") == "True"
        for c in conditions
    )
    names = _dict(spec.get("names"))
    return [
        _name(obj),
        str(spec.get("scope") or ""),
        ",".join(versions),
        obj.get("metadata", {}).get("creationTimestamp") or "0001-01-01T00:00:00Z",
        str(spec.get("group") or ""),
        str(names.get("kind") or ""),
        ",".join(str(n) for n in _list(names.get("shortNames"))),
        established,
    ]


def _wide(name: str, description: str, type_: str = "string") -> Column:
    return Column(name, type_, description=description, priority=1)


PRINTERS: dict[str, Printer] = {
    "namespaces": Printer(
        (NAME_COLUMN, Column("Status", description="The status of the namespace"), AGE),
        _namespace,
    ),
    "configmaps": Printer(
        (NAME_COLUMN, Column("Data", description="The number of data entries."), AGE),
        _configmap,
    ),
    "secrets": Printer(
        (
            NAME_COLUMN,
            Column("Type", description="The type of the secret."),
            Column("Data", description="The number of data entries."),
            AGE,
        ),
        _secret,
    ),
    "serviceaccounts": Printer((NAME_COLUMN, AGE), _service_account),
    "leases.coordination.k8s.io": Printer(
        (NAME_COLUMN, Column("Holder", description="The holder of the lease."), AGE), _lease
    ),
    "events": Printer(
        (
            Column("Last Seen", description="When the event last occurred."),
            Column("Type", description="Normal or Warning."),
            Column("Reason", description="Why the event was recorded."),
            Column("Object", description="The object that this event is about."),
            _wide("Subobject", "The part of the object the event is about."),
            _wide("Source", "The component reporting this event."),
            Column("Message", description="What happened."),
            _wide("First Seen", "When the event first occurred."),
            _wide("Count", "The number of times this event has occurred."),
            Column("Name", "string", "name", NAME_COLUMN.description, priority=1),
        ),
        _event,
    ),
    "deployments.apps": Printer(
        (
            NAME_COLUMN,
            Column("Ready", description="Number of the pod with ready state"),
            Column("Up-to-date", description="Pods that have the desired template."),
            Column("Available", description="Pods available to serve."),
            AGE,
            _wide("Containers", "Names of each container in the template."),
            _wide("Images", "Images referenced by each container in the template."),
            _wide("Selector", "Label selector for pods."),
        ),
        _deployment,
    ),
    "pods": Printer(
        (
            NAME_COLUMN,
            Column("Ready", description="Ready containers of all containers."),
            Column("Status", description="The aggregate status of the containers in this pod."),
            Column("Restarts", description="Container restarts, and when the last one was."),
            AGE,
            _wide("IP", "The pod's IP address."),
            _wide("Node", "The node the pod is scheduled to."),
            _wide("Nominated Node", "The node the pod may be scheduled to after preemption."),
            _wide("Readiness Gates", "Readiness gates that hold, of all."),
        ),
        _pod,
        _pod_conditions,
    ),
    "customresourcedefinitions.apiextensions.k8s.io": Printer(
        (
            NAME_COLUMN,
            Column("Scope", description="Cluster/Namespaced"),
            Column("Versions", description="Served versions"),
            Column("Created At", "date", description=CREATED_DESCRIPTION),
            _wide("Group", "API group"),
            _wide("Kind", "CustomResource kind"),
            _wide("ShortNames", "Short names"),
            _wide("Established", "Established status", "boolean"),
        ),
        _crd,
    ),
}
