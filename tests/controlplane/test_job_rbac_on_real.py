"""The in-cluster Job's identity and RBAC, proven with the real authorizer: the Job's pods, as
the real API server rendered them, are run from the host as the kubelet would run them
(job_on_real): in-cluster configuration from a TokenRequest token bound to the pod, the Job's
environment with its downward-API fields resolved, its command (the doctor, then every suite).

- Every suite passes with exactly the Roles of jobs/ (`--via api` with the base, `--via cr` with
  the via-cr overlay, and a test made to fail for its diagnostics); the audit log shows each
  verb the Roles grant used by the Job ServiceAccount, none of its requests denied, and the
  doctor's tables (harness/doctor/access.py) naming exactly what the suites and evidence used.
- Without any one rule the Job fails at once (the doctor, before any test) with a line naming
  each verb, resource and namespace the rule granted.
- The sharded overlay's pods, each with the JOB_COMPLETION_INDEX the Job controller gave it,
  partition the suites; `harness merge` of their results gives the unsharded run's verdicts.
- The cloudkit and cloudkit-jobs overlays, each on a stack of its era: the doctor and a run
  pass, nothing denied.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from harness.contract.profiles import KUBEVIRT_GROUP, OSAC, VMI_PLURAL
from harness.doctor.access import doctor_access, evidence_access, required_access
from tests.controlplane.job_on_real import (
    ACCOUNT,
    PACE,
    REPO,
    JobCluster,
    PodRun,
    audit_events,
    decision,
    permission,
)
from tests.controlplane.pod_on_host import container_env, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl"),
]
# Allowed to every authenticated user by Kubernetes' default roles (system:basic-user).
ALWAYS_ALLOWED = {
    ("create", "authentication.k8s.io", "selfsubjectreviews"),
    ("create", "authorization.k8s.io", "selfsubjectaccessreviews"),
}
# What the doctor reads for its own checks: jobs/base/rbac-doctor.yaml.
DOCTOR_READS = {(a.verb, a.group, a.resource) for a in doctor_access()}
# A test made to fail once its VM and VMI exist, so its diagnostics read what they read.
FAILING = (
    *("-k", "test_restart_now_replaces_the_vmi_and_records_the_request"),
    *("--restart-timeout", "0.1"),
)
# Few tests for the cloudkit run: an annotation patched, a VMI deleted by hand, a future request.
SUBSET = (
    "-k",
    "test_unmanaged_instance_is_left_alone or test_delete_during_provisioning_leaves_no_orphans"
    " or test_future_request_restarts_now",
)
Grant = tuple[str, str, str, str]  # verb, group, resource, namespace ("*": every namespace)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    running = JobCluster(tmp_path_factory.mktemp("job-stack")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def unsharded(cluster, tmp_path_factory) -> PodRun:
    """The base Job's pod run once: the doctor, then every suite `--via api`."""
    (pod,) = cluster.apply("base")
    run = cluster.run_pod(pod, tmp_path_factory.mktemp("unsharded"), *PACE)
    assert run.code == 0, run.text[-5000:]
    return run


def granted(objects: list[dict[str, Any]]) -> set[Grant]:
    """What the rendered bindings give the Job's ServiceAccount, one verb and resource each."""
    roles = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects}
    grants: set[Grant] = set()
    for binding in (o for o in objects if o["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        subjects = {(s["namespace"], s["name"]) for s in binding["subjects"]}
        assert subjects == {tuple(ACCOUNT.split(":")[2:])}, binding["metadata"]["name"]
        scope = binding["metadata"].get("namespace") or "*"
        ref = binding["roleRef"]
        role_namespace = None if ref["kind"] == "ClusterRole" else binding["metadata"]["namespace"]
        for rule in roles[(ref["kind"], role_namespace, ref["name"])]["rules"]:
            for verb in rule["verbs"]:
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        grants.add((verb, group, resource, scope))
    return grants


def covers(grant: Grant, call: Grant) -> bool:
    return grant[:3] == call[:3] and grant[3] in ("*", call[3] or "*")


def used(runs: list[PodRun], cluster: JobCluster) -> tuple[set[Grant], list[str]]:
    """(what the Job's account did, what it was refused) during `runs`, from the audit log."""
    calls, refused = set(), []
    spans = [(run.started, run.finished) for run in runs]
    for event in audit_events(cluster.audit_log, ACCOUNT, spans):
        call = permission(event)
        if decision(event) != "allow":
            refused.append(f"{event['verb']} {event['requestURI']}: {decision(event)}")
        if call is not None and call[:3] not in ALWAYS_ALLOWED:
            calls.add(call)
    return calls, refused


def test_every_suite_passes_with_exactly_the_job_roles(cluster, unsharded, tmp_path):
    summary = unsharded.summary()
    counts = summary["counts"]
    assert counts["failed"] == counts["error"] == 0 and counts["passed"] > 0, counts
    for test in summary["tests"]:
        if test["outcome"] == "skipped":
            # Refusing a request takes creating admission policies and impersonating
            # system:masters, which the Job is never granted; the rest are the other mode's.
            assert (
                "validatingadmissionpolicies" in test["reason"] or "--via cr" in test["reason"]
            ), test
    assert "environment ready" in unsharded.text

    (pod,) = cluster.pods()
    diagnosed = cluster.run_pod(pod, tmp_path / "diagnostics", *PACE, *FAILING)
    assert diagnosed.code == 1, diagnosed.text[-5000:]
    (folder,) = (diagnosed.results / "diagnostics").iterdir()
    assert (folder / "events.yaml").is_file() and list((folder / "objects").iterdir())
    assert list((folder / "logs").glob(f"{OSAC.operator_deployment}-*.log")), "operator log"

    (pod,) = cluster.apply("overlays/via-cr")
    by_cr = cluster.run_pod(pod, tmp_path / "via-cr", *PACE)
    assert by_cr.code == 0, by_cr.text[-5000:]

    problems = []
    runs = {"api": unsharded, "diagnostics": diagnosed, "cr": by_cr}
    calls, refused = {}, {}
    for name, run in runs.items():
        calls[name], refused[name] = used([run], cluster)
        if refused[name]:
            problems.append(f"{name} run: the Job's account was refused: {refused[name]}")
    # The diagnostics run used the evidence rules, which the via-cr overlay keeps as they are.
    for overlay, via in (("base", "api"), ("overlays/via-cr", "cr")):
        grants = granted(cluster.render(overlay))
        done = calls[via] | calls["diagnostics"]
        missing = sorted(c for c in done if not any(covers(g, c) for g in grants))
        unused = sorted(g for g in grants if not any(covers(g, c) for c in done))
        if missing:
            problems.append(f"jobs/{overlay}: allowed by something else than its roles: {missing}")
        if unused:
            problems.append(f"jobs/{overlay} grants what no run used: {unused}")
        problems += doctor_tables_disagree(via, calls[via], done)
    assert not problems, "\n".join(problems)


def doctor_tables_disagree(via: str, calls: set[Grant], with_evidence: set[Grant]) -> list[str]:
    """The doctor asks for exactly the suites' calls (in the hub namespace for ComputeInstances)
    and the evidence the runs read."""
    evidence = {(a.verb, a.group, a.resource) for a in evidence_access()}
    asked = {(a.verb, a.group, a.resource) for a in required_access(OSAC, via)}
    suites = {c[:3] for c in calls} - evidence - DOCTOR_READS
    problems = []
    if suites != asked:
        problems.append(
            f"doctor --via {via} asks {sorted(asked)}, the suites used {sorted(suites)}"
        )
    if not evidence <= {c[:3] for c in with_evidence}:
        problems.append(f"evidence never read: {sorted(evidence - {c[:3] for c in with_evidence})}")
    if any(c[3] != OSAC.hub_namespace for c in calls if c[2] == OSAC.plural):
        problems.append(f"--via {via} touched ComputeInstances outside the hub namespace")
    return problems


# --- one rule missing -----------------------------------------------------------------------


def may(cluster: JobCluster, verb: str, group: str, resource: str, namespace: str) -> bool:
    plural, _, subresource = resource.partition("/")
    args = ["auth", "can-i", verb, f"{plural}.{group}" if group else plural, f"--as={ACCOUNT}"]
    args += [f"--subresource={subresource}"] if subresource else []
    args += ["-n", namespace] if namespace != "*" else ["-A"]
    return cluster.kubectl(*args, check=False).strip().splitlines()[0] == "yes"


def names(text: str, verb: str, group: str, resource: str, namespace: str) -> bool:
    """The doctor's words (`list pods in all namespaces`) or the server's (`cannot list resource
    "pods" in API group "" at the cluster scope`) for one permission."""
    flat = " ".join(text.split())
    where = "all namespaces" if namespace == "*" else namespace
    ours = f"{verb} {resource}.{group} in {where}" if group else f"{verb} {resource} in {where}"
    scope = "at the cluster scope" if namespace == "*" else f'in the namespace "{namespace}"'
    theirs = f'cannot {verb} resource "{resource}" in API group "{group}" {scope}'
    return ours in flat or theirs in flat


def rules_of(objects: list[dict[str, Any]], overlay: str) -> list[tuple[str, dict, int]]:
    roles = [o for o in objects if o["kind"] in ("Role", "ClusterRole")]
    if overlay != "base":  # only what the overlay changes: the ComputeInstances' verbs
        roles = [r for r in roles if r["metadata"]["name"] == "osac-harness-instances"]
    return [(overlay, role, index) for role in roles for index in range(len(role["rules"]))]


def test_without_any_one_rule_the_job_fails_at_once_naming_it(cluster, tmp_path):
    cases = rules_of(cluster.render("base"), "base")
    cases += rules_of(cluster.render("overlays/via-cr"), "overlays/via-cr")
    problems = []
    pod = None
    for number, (overlay, role, index) in enumerate(cases):
        if cluster.overlay != overlay or pod is None:
            (pod,) = cluster.apply(overlay)
        rule = role["rules"][index]
        scope = role["metadata"].get("namespace", "*")
        lacking = [
            (verb, group, resource, scope)
            for verb in rule["verbs"]
            for group in rule["apiGroups"]
            for resource in rule["resources"]
        ]
        trimmed = copy.deepcopy(role)
        del trimmed["rules"][index]
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(trimmed))
        first = lacking[0]
        wait_for(f"RBAC without {first}", lambda first=first: not may(cluster, *first))
        try:
            run = cluster.run_pod(pod, tmp_path / str(number), *PACE)
        finally:
            cluster.kubectl("apply", "-f", "-", stdin=json.dumps(role))
            wait_for(f"RBAC with {first} again", lambda first=first: may(cluster, *first))
        label = f"{overlay} {role['kind']} {role['metadata']['name']} rule {index} {rule}"
        if run.code != 20:
            problems.append(f"{label}: exit {run.code}, not 20 (environment not ready)")
        if (run.results / "junit.xml").exists():
            problems.append(f"{label}: tests ran; the doctor should have stopped the Job first")
        unnamed = [grant for grant in lacking if not names(run.text, *grant)]
        if unnamed:
            problems.append(f"{label}: the log does not name {unnamed}:\n{run.text[-3000:]}")
    assert not problems, "\n".join(problems)


# --- sharded --------------------------------------------------------------------------------


def test_the_sharded_job_merges_to_the_verdicts_of_one_unsharded_run(cluster, unsharded, tmp_path):
    pods = cluster.apply("overlays/sharded")
    envs = [container_env(pod, pod["spec"]["containers"][0]) for pod in pods]
    assert sorted(env["JOB_COMPLETION_INDEX"] for env in envs) == ["0", "1", "2", "3"]
    assert {env["HARNESS_SHARD_COUNT"] for env in envs} == {"4"}
    # The pods run side by side, as the Job's parallelism has them.
    with ThreadPoolExecutor(max_workers=len(pods)) as pool:
        shards = list(
            pool.map(lambda p: cluster.run_pod(p, tmp_path / p["metadata"]["name"], *PACE), pods)
        )
    # `kubectl logs -l job-name=… --prefix`: every pod's log, each line prefixed.
    log = "".join(
        f"[pod/{shard.pod}/harness] {line}\n" for shard in shards for line in shard.log.splitlines()
    )
    unpack = subprocess.run(
        [sys.executable, "-m", "harness.commands.job_run", "unpack", str(tmp_path / "shards")],
        input=log,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert unpack.returncode == 0, unpack.stderr
    shard_dirs = sorted((tmp_path / "shards").glob("osac-harness-*/results"))
    assert [d.parent.name for d in shard_dirs] == [f"osac-harness-{i}" for i in range(4)]
    for shard in shard_dirs:
        tests = json.loads((shard / "summary.json").read_text())["tests"]
        assert tests, f"{shard.parent.name} ran no test"
    merged = tmp_path / "merged"
    merge = subprocess.run(
        [sys.executable, "-m", "harness", "merge", str(merged), *map(str, shard_dirs)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    whole = unsharded.summary()
    assert merge.returncode == whole["exit_code"], merge.stderr
    verdicts = json.loads((merged / "summary.json").read_text())
    outcomes = {t["nodeid"]: t["outcome"] for t in verdicts["tests"]}
    assert outcomes == {t["nodeid"]: t["outcome"] for t in whole["tests"]}
    assert verdicts["verdict"] == whole["verdict"]


# --- cloudkit -------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["cloudkit", "cloudkit-jobs"])
def test_the_cloudkit_overlay_runs_on_a_cloudkit_stack_with_nothing_denied(profile, tmp_path):
    overlay = f"overlays/{profile}"
    running = JobCluster(tmp_path / "stack", profile=profile).start()
    try:
        (pod,) = running.apply(overlay)
        assert container_env(pod, pod["spec"]["containers"][0])["HARNESS_PROFILE"] == profile
        run = running.run_pod(pod, tmp_path / "run", *PACE, *SUBSET)
        assert run.code == 0, run.text[-5000:]
        assert "environment ready" in run.text
        calls, refused = used([run], running)
        assert not refused, refused
        grants = granted(running.render(overlay))
        assert all(any(covers(g, c) for g in grants) for c in calls), sorted(calls)
        deleted = ("delete", KUBEVIRT_GROUP, VMI_PLURAL)
        assert any(c[:3] == deleted for c in calls), "the subset deletes a VMI by hand"
    finally:
        running.stop()
