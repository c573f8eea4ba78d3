"""jobs/: every kustomize overlay renders with kubectl, validates offline against the Kubernetes
JSON schemas (kubernetes-validate bundles them), keeps its settings consistent, and its RBAC is
exactly what the suites use: measured from the embedded API server's request log of a real run
(what the harness's identity did), compared both ways with the rendered rules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
JOBS = ROOT / "jobs"
OVERLAYS = ["base", *sorted(f"overlays/{p.name}" for p in (JOBS / "overlays").iterdir())]
KUBERNETES_VERSION = "1.30.0"
HARNESS_USER = "system:serviceaccount:harness:e2e"
# Granted to every authenticated user by the default system:basic-user ClusterRole.
ALWAYS_ALLOWED = {("create", "authentication.k8s.io", "selfsubjectreviews")}
# A failing test's diagnostics (and the run's environment record) get the operator's pods and
# their logs after listing them; the
# embedded stack has no pods (its components are processes, their logs files), so these two are
# read from harness/evidence/diagnostics.py instead of measured.
OPERATOR_NAMESPACE = "osac-operator-system"
UNMEASURABLE = {
    ("get", "", "pods", OPERATOR_NAMESPACE),
    ("get", "", "pods/log", OPERATOR_NAMESPACE),
}
# The embedded server's own AccessRules: the embedded-only tests switch them; no cluster has them.
EMBEDDED_ONLY_GROUPS = {"harness.osac.io"}
# Few tests that between them make every kind of call the whole suite makes (checked against
# a full run when HARNESS_RBAC_FULL=1): orphan watches across namespaces, a VMI deleted by hand,
# an annotation patched, and with --via cr CRs created, patched and deleted.
SUBSET = {
    "api": "test_unmanaged_instance_is_left_alone"
    " or test_delete_during_provisioning_leaves_no_orphans or test_future_request_restarts_now",
    "cr": "test_delete_during_provisioning_leaves_no_orphans or test_future_request_restarts_now",
}
# A test made to fail after its VM and VMI exist, so its diagnostics read what they read.
FAILING = [
    "-k",
    "test_restart_now_replaces_the_vmi_and_records_the_request",
    "--restart-timeout",
    "0.1",
]
pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl")


def render(overlay: str) -> list[dict]:
    result = subprocess.run(
        ["kubectl", "kustomize", str(JOBS / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize jobs/{overlay}: {result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(objects: Iterable[dict], kind: str) -> list[dict]:
    return [obj for obj in objects if obj["kind"] == kind]


def job_env(job: dict) -> dict[str, str]:
    container = job["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value") for item in container.get("env", [])}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_validates_offline(overlay):
    objects = render(overlay)
    kinds = {obj["kind"] for obj in objects}
    assert {"ServiceAccount", "ClusterRole", "Role", "Job"} <= kinds
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"jobs/{overlay}: {obj['kind']} {obj['metadata']['name']}: {error}")


def test_validation_really_rejects_a_broken_job():
    job = by_kind(render("base"), "Job")[0]
    job["spec"]["activeDeadlineSeconds"] = "an hour"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_job_settings_agree(overlay):
    objects = render(overlay)
    (job,) = by_kind(objects, "Job")
    env = job_env(job)
    spec = job["spec"]
    assert env["HARNESS_JOB_DEADLINE"] == str(spec["activeDeadlineSeconds"])
    assert env["HARNESS_RESULTS_DIR"] in {
        mount["mountPath"]
        for mount in job["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    }
    pod = spec["template"]["spec"]
    (account,) = by_kind(objects, "ServiceAccount")
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    if spec.get("completionMode") == "Indexed":
        assert spec["completions"] == spec["parallelism"] == int(env["HARNESS_SHARD_COUNT"])
    if env.get("HARNESS_VIA") == "cr":
        assert env.get("HARNESS_TENANT") and "HARNESS_API_ADDRESS" not in env
    else:
        assert env.get("HARNESS_API_ADDRESS")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rbac_never_touches_secrets_or_wildcards(overlay):
    for obj in render(overlay):
        for rule in obj.get("rules", []) if obj["kind"] in ("Role", "ClusterRole") else []:
            assert "secrets" not in rule["resources"], f"{obj['metadata']['name']} reads secrets"
            assert "*" not in rule["resources"] + rule["verbs"] + rule["apiGroups"]


# --- RBAC measured from a real run --------------------------------------------------------


def granted(objects: list[dict]) -> set[tuple[str, str, str, str]]:
    """(verb, group, resource, namespace or '*') the rendered bindings give the service account."""
    roles = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects}
    (account,) = by_kind(objects, "ServiceAccount")
    subject = {
        "kind": "ServiceAccount",
        **{k: account["metadata"][k] for k in ("name", "namespace")},
    }
    grants: set[tuple[str, str, str, str]] = set()
    for binding in by_kind(objects, "ClusterRoleBinding") + by_kind(objects, "RoleBinding"):
        assert subject in binding["subjects"], f"{binding['metadata']['name']} binds someone else"
        scope = binding["metadata"].get("namespace") or "*"
        ref = binding["roleRef"]
        role_namespace = None if ref["kind"] == "ClusterRole" else binding["metadata"]["namespace"]
        role = roles[(ref["kind"], role_namespace, ref["name"])]
        for rule in role["rules"]:
            for verb in rule["verbs"]:
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        grants.add((verb, group, resource, scope))
    return grants


def used(request_log: Path) -> set[tuple[str, str, str, str]]:
    calls = set()
    for line in request_log.read_text().splitlines():
        entry = json.loads(line)
        if entry["user"] != HARNESS_USER or "resource" not in entry:
            continue
        group = entry.get("group", "")
        resource = entry["resource"] + (
            f"/{entry['subresource']}" if entry.get("subresource") else ""
        )
        if group in EMBEDDED_ONLY_GROUPS or (entry["verb"], group, resource) in ALWAYS_ALLOWED:
            continue
        calls.add((entry["verb"], group, resource, entry.get("namespace", "*")))
    return calls


def covered(call: tuple[str, str, str, str], grants: set[tuple[str, str, str, str]]) -> bool:
    verb, group, resource, namespace = call
    return (verb, group, resource, "*") in grants or (verb, group, resource, namespace) in grants


def _suites(args, env, results, cwd=ROOT):
    """`python -m harness run`, as the Job runs it (its environment record and leak sweep too)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "PYTEST_"))}
    clean.pop("KUBECONFIG", None)
    command = [sys.executable, "-m", "harness", "run", "--results-dir", str(results), *args]
    return subprocess.Popen(
        command,
        cwd=cwd,
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict[str, set[tuple[str, str, str, str]]]:
    """What the harness's identity did: the suites (a subset, or all with HARNESS_RBAC_FULL=1)
    both ways, each on its own embedded stack, and a failing test's diagnostics against a
    running stack reached as a cluster would be (its kubeconfig elsewhere, so the diagnostics
    go to the API for events and pods instead of the stack's files)."""
    from harness.reference.stack import StackOptions, launch

    full = os.environ.get("HARNESS_RBAC_FULL") == "1"
    runs = {}
    for via, expression in SUBSET.items():
        state = tmp_path_factory.mktemp(f"rbac-{via}")
        args = ["--via", via, "--state-dir", str(state)] + ([] if full else ["-k", expression])
        results = tmp_path_factory.mktemp(f"rbac-results-{via}") / "results"
        runs[via] = (_suites(args, {}, results), state, 0)
    state = tmp_path_factory.mktemp("rbac-diagnostics")
    stack = launch(StackOptions(state_dir=state))
    try:
        env = stack.start()
        elsewhere = tmp_path_factory.mktemp("kubeconfig") / "kubeconfig"
        elsewhere.write_text(Path(env["KUBECONFIG"]).read_text())
        env = {**env, "KUBECONFIG": str(elsewhere), "HARNESS_TARGET": "cluster"}
        results = tmp_path_factory.mktemp("rbac-results") / "results"
        runs["diagnostics"] = (_suites(FAILING, env, results), state, 1)
        used_by = {}
        for name, (process, run_state, expected) in runs.items():
            output, _ = process.communicate(timeout=600)
            assert process.returncode == expected, f"{name} run:\n{output[-3000:]}"
            if name != "diagnostics":
                used_by[name] = used(run_state / "logs" / "apiserver-requests.jsonl")
    finally:
        stack.stop()
    used_by["diagnostics"] = used(state / "logs" / "apiserver-requests.jsonl")
    return used_by


@pytest.mark.slow
@pytest.mark.parametrize(("overlay", "via"), [("base", "api"), ("overlays/via-cr", "cr")])
def test_rbac_is_exactly_what_the_suites_use(measured, overlay, via):
    calls = measured[via] | measured["diagnostics"] | UNMEASURABLE
    grants = granted(render(overlay))
    missing = sorted(call for call in calls if not covered(call, grants))
    assert not missing, f"jobs/{overlay} lacks permissions the suites used: {missing}"
    unused = sorted(grant for grant in grants if not any(covered(call, {grant}) for call in calls))
    assert not unused, f"jobs/{overlay} grants what the suites never used: {unused}"


@pytest.mark.slow
@pytest.mark.parametrize("via", ["api", "cr"])
def test_the_doctor_asks_for_exactly_the_verbs_the_suites_use(measured, via):
    from harness.contract.profiles import OSAC
    from harness.doctor.access import CLUSTER, HUB, required_access

    asked = {(a.verb, a.group, a.resource, a.scope) for a in required_access(OSAC, via)}
    calls = {
        (verb, group, resource, HUB if namespace == OSAC.hub_namespace else CLUSTER)
        for verb, group, resource, namespace in measured[via]
    }
    # A call in one tenant namespace is covered by asking for all namespaces. (Diagnostics are
    # best effort: the doctor does not ask for their permissions.)
    assert {call[:3] for call in calls} == {a[:3] for a in asked}
    assert all(call[3] == HUB for call in calls if call[2] == OSAC.plural)
