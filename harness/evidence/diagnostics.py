"""The diagnostics folder of a failing test: what the person on call reads instead of rerunning.

```
diagnostics/<test>/
  README.txt                 the failure, the last state of every instance, the file list
  failure.txt                pytest's full failure report
  settings.yaml              the harness settings (tokens redacted)
  objects/<kind>-<name>.yaml last observed state and a fresh GET of the CR, VM, each VMI
  events.yaml                Kubernetes events about them (or why there are none)
  timeline.txt / .jsonl      the recorded timeline
  logs/<component>.log       stack or operator logs, cut to the test's window and objects
                             (the operator pod's through the API on a real control plane)
  logs/apiserver-requests.jsonl  the embedded API server's requests about the test's objects
```

Every file goes through the redactor, and the folder stops growing at `cap` bytes: the
file that crosses it is cut with a marker, later files are listed as skipped. A file the disk
refuses is left out whole and listed as refused (the run reports it: exit 20).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.clients.resources import VM, VMI, instance_resource
from harness.config import Settings
from harness.evidence import logs
from harness.evidence.redaction import Redactor
from harness.evidence.timeline_export import jsonl, records, table
from harness.filewrites import write_atomic

if TYPE_CHECKING:  # the xdist controller imports this module and needs no client library
    from harness.clients.kubernetes_api import KubeClient
    from harness.testkit.instance import ComputeInstanceUnderTest

DEFAULT_CAP = 4 * 1024 * 1024
README_RESERVE = 64 * 1024
TRUNCATED = "\n… [truncated: the diagnostics of one test are capped at {cap} bytes]\n"


class CappedFolder:
    """Writes redacted text files into one folder until `cap` bytes are used."""

    def __init__(self, root: Path, redactor: Redactor, cap: int = DEFAULT_CAP) -> None:
        self.root = root
        self.redactor = redactor
        self.cap = cap
        self.used = 0
        self.written: list[str] = []
        self.skipped: list[str] = []
        self.refused: list[tuple[Path, OSError]] = []

    def write(self, relative: str, text: str) -> None:
        text = self.redactor.text(text)
        data = text.encode()
        left = self.cap - self.used
        if left <= 0:
            self.skipped.append(relative)
            return
        if len(data) > left:
            marker = TRUNCATED.format(cap=self.cap).encode()
            data = data[: max(0, left - len(marker))] + marker
        path = self.root / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, data)
        except OSError as error:
            self.refused.append((path, error))
            return
        self.used += len(data)
        self.written.append(relative)


def collect(
    folder: CappedFolder,
    nodeid: str,
    failure: str,
    instances: list[ComputeInstanceUnderTest],
    settings: Settings,
    test_started: float,
) -> None:
    """Write everything about `instances` worth reading for a failure of test `nodeid`."""
    started = min([test_started, *(i.timeline.started_wall for i in instances)])
    window = logs.Window(started, time.time())
    identifiers = _identifiers(instances)
    folder.cap -= README_RESERVE  # the README is written last and must always fit
    folder.write("failure.txt", failure)
    folder.write("settings.yaml", _settings_yaml(settings))
    for instance in instances:
        _objects(folder, instance)
    folder.write("events.yaml", _events(instances))
    folder.write(
        "timeline.txt",
        table([(_label(i), i.timeline) for i in instances], settings.profile)
        if instances
        else "no instance was created",
    )
    folder.write(
        "timeline.jsonl",
        "".join(jsonl(folder.redactor.object(records(i.timeline))) for i in instances),
    )
    _logs(folder, settings, instances, window, identifiers)
    folder.cap += README_RESERVE
    folder.write("README.txt", _readme(nodeid, failure, instances, folder, window))


def _label(instance: ComputeInstanceUnderTest) -> str:
    return f"instance {instance.id or '<not created>'} (CR {instance.cr_name or '<not seen>'})"


def _identifiers(instances: Iterable[ComputeInstanceUnderTest]) -> list[str]:
    names: set[str] = set()
    for instance in instances:
        names.update(filter(None, (instance.id, instance.cr_name, instance.vm_name)))
        for observation in instance.timeline.observations():
            names.update(filter(None, (observation.name, observation.uid)))
            spec = observation.object.get("spec") or {}
            if spec.get("restartRequestedAt"):
                names.add(str(spec["restartRequestedAt"]))
    return sorted(names)


def _settings_yaml(settings: Settings) -> str:
    data: dict[str, Any] = {}
    for key, value in asdict(settings).items():
        shown = settings.profile.name if key == "profile" else value
        data[key] = shown if isinstance(shown, (int, float, bool, type(None))) else str(shown)
    return yaml.safe_dump(data, sort_keys=True)


def _objects(folder: CappedFolder, instance: ComputeInstanceUnderTest) -> None:
    kube = instance.context.kube
    profile = instance.profile
    by_uid: dict[str, Any] = {}
    for observation in instance.timeline.observations():
        by_uid[observation.uid] = observation
    for observation in by_uid.values():
        kind = observation.kind.lower()
        documents: list[Any] = [
            {
                "observed": {
                    "event": observation.event,
                    "resourceVersion": observation.resource_version,
                    "at": f"+{observation.elapsed:.3f} s",
                },
                "object": observation.object,
            }
        ]
        resource = {profile.kind: instance_resource(profile), VM.kind: VM, VMI.kind: VMI}.get(
            observation.kind
        )
        if resource is not None:
            documents.append({"fresh GET": _fresh(kube, resource, observation)})
        name = f"{kind}-{observation.name}-{observation.uid[:8]}.yaml"
        folder.write(
            f"objects/{name}",
            yaml.safe_dump_all(folder.redactor.object(documents), sort_keys=False),
        )


def _fresh(kube: KubeClient, resource: Any, observation: Any) -> Any:
    try:
        found = kube.get(resource, observation.namespace, observation.name)
    except Exception as error:  # evidence is best effort; say why instead of failing
        return f"GET failed: {error!r}"
    if found is None:
        return "not found (deleted)"
    if found.get("metadata", {}).get("uid") != observation.uid:
        return {"note": "a newer object of that name (another uid)", "object": found}
    return found


def _events(instances: list[ComputeInstanceUnderTest]) -> str:
    found: list[dict[str, Any]] = []
    notes: list[str] = []
    asked: set[tuple[str, str]] = set()
    for instance in instances:
        keys = {(o.namespace, o.name) for o in instance.timeline.observations() if o.name}
        for namespace, name in sorted(keys - asked):
            asked.add((namespace, name))
            events = instance.context.kube.events_about(namespace, name)
            if events is None:
                notes.append(f"events of {namespace}/{name}: not served or not allowed")
            else:
                found += events
    return yaml.safe_dump({"notes": notes, "events": found}, sort_keys=False)


def _logs(
    folder: CappedFolder,
    settings: Settings,
    instances: list[ComputeInstanceUnderTest],
    window: logs.Window,
    identifiers: list[str],
) -> None:
    state = logs.stack_dir(settings)
    # The operator's log through the API (pods/log) on anything but the embedded API server.
    from_pods = state is None or logs.control_plane(state) == "real"
    if state is not None:
        requests = logs.request_log(state)
        for path in logs.component_logs(state):
            kept = logs.filter_component_log(logs.read_lines(path), window, identifiers)
            folder.write(f"logs/{path.name}", "\n".join(kept) + "\n")
        if requests is not None:
            kept = logs.filter_request_log(logs.read_lines(requests), window, identifiers)
            folder.write(f"logs/{requests.name}", "\n".join(kept) + "\n")
    if from_pods and instances:
        operator_logs(folder, instances[0].context.kube, settings, window, identifiers)


def operator_logs(
    folder: CappedFolder,
    kube: KubeClient,
    settings: Settings,
    window: logs.Window,
    identifiers: list[str],
) -> None:
    """On a cluster: the operator's pod logs since the test started, lines naming the test's
    objects; a note saying how to get them when these credentials cannot."""
    namespace = settings.profile.operator_namespace
    pods = kube.pods(namespace)
    if pods is None:
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(window.start))
        folder.write(
            "logs/NOTE.txt",
            f"operator logs: cannot list pods in {namespace} with these credentials; "
            f"read them with: kubectl logs -n {namespace} <operator pod> --since-time {since}\n",
        )
        return
    if not pods:
        folder.write(
            "logs/NOTE.txt",
            f"operator logs: no pods in {namespace}; is the operator deployed there?\n",
        )
        return
    since_seconds = int(time.time() - window.start) + 2
    for pod in pods:
        name = pod["metadata"]["name"]
        text = kube.pod_log(namespace, name, since_seconds)
        if text is None:
            folder.write(f"logs/{name}.log", "cannot read this pod's log with these credentials\n")
            continue
        lines = [line for line in text.splitlines() if any(i in line for i in identifiers)]
        folder.write(f"logs/{name}.log", "\n".join(lines) + "\n")


def _readme(
    nodeid: str,
    failure: str,
    instances: list[ComputeInstanceUnderTest],
    folder: CappedFolder,
    window: logs.Window,
) -> str:
    moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(window.start))
    lines = [
        f"test: {nodeid}",
        f"started: {moment} ({window.end - window.start:.1f} s)",
        "",
        "why it failed:",
        *[f"  {line}" for line in _failure_summary(failure)],
        "",
        "last state seen:",
        *[f"  {_label(i)}: {i.describe()}" for i in instances],
        "",
        "files:",
        *[f"  {name}" for name in folder.written],
    ]
    if folder.skipped:
        lines += ["", f"skipped (over the {folder.cap}-byte cap):", *folder.skipped]
    return "\n".join(lines) + "\n"


def _failure_summary(failure: str) -> list[str]:
    """The `E ` lines of pytest's report (the assertion and its message), else the last lines."""
    errors = [line[1:].strip() for line in failure.splitlines() if line.startswith("E ")]
    return errors[:20] or failure.strip().splitlines()[-10:]
