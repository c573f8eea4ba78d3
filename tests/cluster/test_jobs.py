"""jobs/: every kustomize overlay renders with kubectl, validates offline against the Kubernetes
JSON schemas (kubernetes-validate bundles them) and keeps its settings consistent. On a real
control plane: tests/controlplane/test_job_manifests_on_real.py (admitted, scheduled) and
test_job_rbac_on_real.py (the Job's runs, its RBAC measured from the audit log)."""

from __future__ import annotations

import shutil
import subprocess
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


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rbac_grants_exactly_what_the_doctor_asks_for(overlay):
    """harness/doctor/access.py is the one list of what the harness does; the Roles of jobs/
    grant that (the suites', the evidence's, the doctor's own reads), in the namespaces it says,
    and nothing else. What the runs really use is measured in test_job_rbac_on_real.py."""
    from harness.contract.profiles import get_profile
    from harness.doctor.access import (
        CLUSTER,
        HUB,
        OPERATOR,
        doctor_access,
        evidence_access,
        required_access,
    )

    objects = render(overlay)
    (job,) = by_kind(objects, "Job")
    env = job_env(job)
    profile = get_profile(env.get("HARNESS_PROFILE") or "osac")
    places = {CLUSTER: "*", HUB: profile.hub_namespace, OPERATOR: profile.operator_namespace}
    wanted = {
        (a.verb, a.group, a.resource, places[a.scope])
        for a in (
            *required_access(profile, env.get("HARNESS_VIA") or "api"),
            *evidence_access(),
            *doctor_access(),
        )
    }
    granted = {
        (verb, group, resource, role["metadata"].get("namespace", "*"))
        for role in by_kind(objects, "Role") + by_kind(objects, "ClusterRole")
        for rule in role["rules"]
        for verb in rule["verbs"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert granted == wanted, (sorted(granted - wanted), sorted(wanted - granted))


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
