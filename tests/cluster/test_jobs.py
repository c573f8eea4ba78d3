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
import time
from collections.abc import Iterable
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.inprocess import output_of, run_pytest_inprocess

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


def used(entries: Iterable[dict]) -> set[tuple[str, str, str, str]]:
    calls = set()
    for entry in entries:
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


def _stamp(seconds: float) -> str:
    """The request log's time format, for comparing entries with a run's start and end."""
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        + f".{int(seconds % 1 * 1000):03d}Z"
    )


def _harness_run(args, env, results):
    """`python -m harness run` as the Job runs it (its environment record and leak sweep too),
    against a running stack reached as a cluster is."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "PYTEST_"))}
    clean.pop("KUBECONFIG", None)
    command = [sys.executable, "-m", "harness", "run", "--results-dir", str(results), *args]
    return subprocess.run(
        command,
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict[str, set[tuple[str, str, str, str]]]:
    """What the harness's identity did, per run, on one running stack reached as a cluster would
    be (its kubeconfig copied elsewhere, so evidence and diagnostics go to the API, not to the
    stack's files): the suites --via api and --via cr (a subset, or all with
    HARNESS_RBAC_FULL=1), then a test made to fail, for its diagnostics. The runs follow each
    other; each one's calls are the request log's entries between its start and end."""
    from harness.reference.stack import TENANT, StackOptions, launch

    full = os.environ.get("HARNESS_RBAC_FULL") == "1"
    # The embedded stack's pace instead of a cluster's (future-dated requests are half the
    # restart timeout ahead on a cluster).
    pace = ["--restart-timeout", "8", "--quiet-window", "2", "--provision-timeout", "60"]
    runs = [
        ("api", [*pace, *([] if full else ["-k", SUBSET["api"]])], 0),
        (
            "cr",
            [*pace, "--via", "cr", "--tenant", TENANT, *([] if full else ["-k", SUBSET["cr"]])],
            0,
        ),
        ("diagnostics", FAILING, 1),
    ]
    state = tmp_path_factory.mktemp("rbac-stack")
    stack = launch(StackOptions(state_dir=state))
    windows = {}
    try:
        env = stack.start()
        elsewhere = tmp_path_factory.mktemp("kubeconfig") / "kubeconfig"
        elsewhere.write_text(Path(env["KUBECONFIG"]).read_text())
        env = {**env, "KUBECONFIG": str(elsewhere), "HARNESS_TARGET": "cluster"}
        for name, args, expected in runs:
            results = tmp_path_factory.mktemp(f"rbac-{name}") / "results"
            started = time.time()
            run = _harness_run(args, env, results)
            windows[name] = (_stamp(started), _stamp(time.time()))
            assert run.returncode == expected, (
                f"{name} run:\n{run.stdout[-3000:]}{run.stderr[-2000:]}"
            )
    finally:
        stack.stop()  # flushes the request log
    log = state / "logs" / "apiserver-requests.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    return {
        name: used(e for e in entries if start <= e["time"] <= end)
        for name, (start, end) in windows.items()
    }


@pytest.mark.slow
def test_rbac_and_the_doctor_ask_exactly_what_the_runs_use(measured):
    from harness.contract.profiles import OSAC
    from harness.doctor.access import CLUSTER, HUB, required_access

    problems = []
    for overlay, via in (("base", "api"), ("overlays/via-cr", "cr")):
        calls = measured[via] | measured["diagnostics"] | UNMEASURABLE
        grants = granted(render(overlay))
        missing = sorted(call for call in calls if not covered(call, grants))
        if missing:
            problems.append(f"jobs/{overlay} lacks permissions the runs used: {missing}")
        unused = sorted(g for g in grants if not any(covered(c, {g}) for c in calls))
        if unused:
            problems.append(f"jobs/{overlay} grants what the runs never used: {unused}")
        # The doctor asks for the suites' own verbs (evidence is best effort, not asked for);
        # a call in one tenant namespace is covered by asking for all namespaces.
        asked = {(a.verb, a.group, a.resource, a.scope) for a in required_access(OSAC, via)}
        suite_calls = {
            (verb, group, resource, HUB if namespace == OSAC.hub_namespace else CLUSTER)
            for verb, group, resource, namespace in measured[via]
            if resource not in ("pods", "events", "deployments")
        }
        if {c[:3] for c in suite_calls} != {a[:3] for a in asked}:
            problems.append(
                f"doctor --via {via} asks {sorted(a[:3] for a in asked)}, the suites used "
                f"{sorted({c[:3] for c in suite_calls})}"
            )
        if any(c[3] != HUB for c in suite_calls if c[2] == OSAC.plural):
            problems.append(f"--via {via} touched ComputeInstances outside the hub namespace")
    assert not problems, "\n".join(problems)


def test_the_indexed_job_pods_partition_the_suite(pytester):
    """Each pod of the sharded overlay (its env plus the JOB_COMPLETION_INDEX Kubernetes sets)
    selects its shard; together the pods run every test once. The suite's test ids are
    collected in this process (pytester)."""
    from harness.runner.shard import resolve_shard

    (job,) = by_kind(render("overlays/sharded"), "Job")
    env = {name: value for name, value in job_env(job).items() if value is not None}
    assert "HARNESS_SHARD" not in env
    collected = run_pytest_inprocess(pytester, ROOT / "suites", "--collect-only", "-q")
    assert collected.ret == pytest.ExitCode.OK, output_of(collected)[-2000:]
    ids = [line for line in collected.outlines if "::" in line]
    assert len(ids) > 10, output_of(collected)[-2000:]
    shards = []
    for index in range(job["spec"]["completions"]):
        shard = resolve_shard(None, {**env, "JOB_COMPLETION_INDEX": str(index)})
        assert shard is not None and shard.index == index
        shards.append({nodeid for nodeid in ids if shard.selects(nodeid)})
    assert sum(len(s) for s in shards) == len(ids) == len(set().union(*shards))
    assert all(shards), "a pod with nothing to run"
