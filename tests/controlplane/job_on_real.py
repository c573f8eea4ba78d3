"""The in-cluster Job (jobs/) on a real control plane running the reference stack: its manifests
applied with kubectl, its pods read back from the API server, and each pod's container run on
the host as the kubelet would run it (pod_on_host), with the Job ServiceAccount's identity.

Two settings cannot be the pod's own here: the fulfillment API's address (the Service name
`fulfillment-api.osac.svc` resolves only inside a cluster) is the stack's, and its token is the
stack's user token (a TokenRequest token of `tenant-harness:e2e`, which the fulfillment API
checks through TokenReview) given as a file (HARNESS_API_TOKEN_FILE, as an overlay mounting a
Secret would). The Kubernetes side is entirely the pod's: in-cluster configuration, the Job
ServiceAccount's token.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from harness.reference.stack import StackOptions, launch
from tests.controlplane.pod_on_host import Kubectl, base_environment, host_environment, wait_for

REPO = Path(__file__).resolve().parents[2]
JOBS = REPO / "jobs"
NAMESPACE = "osac-harness"
JOB = "osac-harness"
ACCOUNT = f"system:serviceaccount:{NAMESPACE}:{JOB}"
# The Job's own args plus a pace for a simulated stack: a cluster's defaults (restarts within
# 300 s, future requests 150 s ahead) would make each run take an hour.
PACE = ("--restart-timeout", "30", "--quiet-window", "2", "--provision-timeout", "120")


@dataclass(frozen=True)
class PodRun:
    pod: str
    code: int
    log: str
    results: Path
    started: float
    finished: float

    @property
    def text(self) -> str:
        """The log without the results tarball armoured into it."""
        lines, inside = [], False
        for line in self.log.splitlines():
            if line.startswith("----- BEGIN OSAC HARNESS RESULTS"):
                inside = True
            elif line.startswith("----- END OSAC HARNESS RESULTS"):
                inside = False
            elif not inside:
                lines.append(line)
        return "\n".join(lines)

    def summary(self) -> dict[str, Any]:
        return dict(json.loads((self.results / "summary.json").read_text()))


class JobCluster:
    """One reference stack on a real control plane, and the Job applied to it."""

    def __init__(self, state: Path, profile: str = "osac") -> None:
        self.state = state
        self.stack = launch(StackOptions(state_dir=state, profile=profile, control_plane="real"))
        self.env: dict[str, str] = {}
        self.overlay: str | None = None

    def start(self) -> JobCluster:
        self.env = self.stack.start()
        self.kubectl = Kubectl(Path(self.env["KUBECONFIG"]))
        config = yaml.safe_load(Path(self.env["KUBECONFIG"]).read_text())
        self.url = config["clusters"][0]["cluster"]["server"]
        return self

    def stop(self) -> None:
        self.stack.stop()

    @property
    def audit_log(self) -> Path:
        return self.state / "controlplane" / "logs" / "audit.log"

    def render(self, overlay: str) -> list[dict[str, Any]]:
        return [
            doc for doc in yaml.safe_load_all(self.kubectl("kustomize", str(JOBS / overlay))) if doc
        ]

    def apply(self, overlay: str) -> list[dict[str, Any]]:
        """The overlay's objects applied (a Job's template cannot change: the previous Job goes
        first, with its pods); returns the Job's pods once each is on a node."""
        self.kubectl(
            *("delete", "job", JOB, "-n", NAMESPACE, "--ignore-not-found"),
            *("--cascade=foreground", "--wait", "--timeout=120s"),
        )
        self.kubectl("apply", "-k", str(JOBS / overlay))
        self.overlay = overlay
        return self.pods()

    def pods(self) -> list[dict[str, Any]]:
        """The Job's pods (as many as its completions), each scheduled onto a node."""
        job = self.kubectl.json("get", "job", JOB, "-n", NAMESPACE)
        wanted = job["spec"].get("completions") or 1
        selector = f"batch.kubernetes.io/controller-uid={job['metadata']['uid']}"

        def scheduled() -> list[dict[str, Any]] | None:
            pods = self.kubectl.json("get", "pods", "-n", NAMESPACE, "-l", selector)["items"]
            placed = [p for p in pods if p["spec"].get("nodeName")]
            return placed if len(placed) == wanted == len(pods) else None

        pods = wait_for(f"{wanted} pods of job {JOB} on a node", scheduled)
        return sorted(pods, key=lambda p: p["metadata"]["name"])

    def run_pod(self, pod: dict[str, Any], root: Path, *extra: str) -> PodRun:
        """The pod's container run from the host (its command and args, then `extra`)."""
        command, env = host_environment(self.kubectl, pod, self.url, root)
        if "HARNESS_API_ADDRESS" in env:
            token = root / "api-token"
            token.write_text(self.env["HARNESS_API_TOKEN"])
            env |= {
                "HARNESS_API_ADDRESS": self.env["HARNESS_API_ADDRESS"],
                "HARNESS_API_TOKEN_FILE": str(token),
            }
        started = time.time()
        completed = subprocess.run(
            [*command, *extra],
            cwd=REPO,
            env={**base_environment(), **env},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        return PodRun(
            pod=pod["metadata"]["name"],
            code=completed.returncode,
            log=completed.stdout + completed.stderr,
            results=Path(env["HARNESS_RESULTS_DIR"]),
            started=started,
            finished=time.time(),
        )


def audit_events(path: Path, user: str, windows: Iterable[tuple[float, float]]) -> Iterator[dict]:
    """The audit log's completed requests of `user` received within one of `windows`."""
    spans = list(windows)
    for line in path.read_text().splitlines():
        event = json.loads(line)
        if event["user"]["username"] != user or event.get("stage") != "ResponseComplete":
            continue
        received = datetime.fromisoformat(event["requestReceivedTimestamp"]).astimezone(UTC)
        if any(start <= received.timestamp() <= end for start, end in spans):
            yield event


def permission(event: dict[str, Any]) -> tuple[str, str, str, str] | None:
    """(verb, group, resource[/subresource], namespace or '') of a resource request."""
    ref = event.get("objectRef")
    if not ref or not ref.get("resource"):
        return None
    resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
    return event["verb"], ref.get("apiGroup", ""), resource, ref.get("namespace", "")


def decision(event: dict[str, Any]) -> str | None:
    return (event.get("annotations") or {}).get("authorization.k8s.io/decision")
