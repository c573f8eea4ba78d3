"""The restart suites on the real control plane: kube-apiserver, etcd, controllers and kwok,
with the reference operator, KubeVirt sim and fulfillment API as ordinary clients of it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.contract.profiles import PROFILES
from tests.environ import without_harness_settings

REPO = Path(__file__).resolve().parents[2]
REFUSING = (
    "test_refused_vmi_deletion_sets_restart_failed_then_recovers",
    "test_lost_status_write_after_the_delete_is_recovered",
    "test_withdrawn_request_while_restart_failed_removes_it_and_deletes_nothing",
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("profile", "via"), [(profile, via) for profile in PROFILES for via in ("api", "cr")]
)
def test_every_suite_passes_on_the_real_control_plane(profile, via, tmp_path):
    results = tmp_path / "results"
    completed = subprocess.run(
        [
            sys.executable, "-m", "harness", "run", "--workers", "2",
            "--results-dir", str(results), "--state-dir", str(tmp_path / "state"),
            "--control-plane", "real", "--profile", profile, "--via", via,
        ],
        cwd=REPO,
        env=without_harness_settings(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # fmt: skip
    output = completed.stdout[-4000:] + completed.stderr[-3000:]
    assert completed.returncode == 0, output
    summary = json.loads((results / "summary.json").read_text())
    counts = summary["counts"]
    assert counts["failed"] == counts["error"] == 0 and counts["passed"] > 0, counts
    skipped = [t for t in summary["tests"] if t["outcome"] == "skipped"]
    assert all(t.get("reason") for t in skipped), skipped
    # The tests that refuse a request do it with an admission policy here: they run, never skip.
    outcomes = {t["nodeid"].rpartition("::")[2]: t["outcome"] for t in summary["tests"]}
    assert {name: outcomes.get(name) for name in REFUSING} == dict.fromkeys(REFUSING, "passed")
    environment = json.loads((results / "environment.json").read_text())
    assert environment["kubernetes_server_version"].startswith("v1."), environment
    audits = list((tmp_path / "state").glob("*/controlplane/logs/audit.log"))
    assert audits, "each worker's stack kept its audit log"
    assert_no_component_was_refused_by_rbac(audits)


def assert_no_component_was_refused_by_rbac(audits: list[Path]) -> None:
    """The components' least-privilege roles cover everything they did: the audit log holds no
    RBAC denial for any of them (admission-policy refusals the suites cause are not RBAC's)."""
    denied, seen, decisions = set(), set(), set()
    for audit in audits:
        for line in audit.read_text().splitlines():
            event = json.loads(line)
            user = event["user"]["username"]
            if not user.startswith("system:serviceaccount:") or ":kube-system:" in user:
                continue
            seen.add(user)
            decision = (event.get("annotations") or {}).get("authorization.k8s.io/decision")
            decisions.add(decision)
            if decision == "forbid":
                ref = event.get("objectRef") or {}
                denied.add((user, event["verb"], ref.get("resource"), ref.get("subresource")))
    assert len(seen) >= 3, f"the components' requests are in the audit log: {seen}"
    assert "allow" in decisions, "the audit log records the authorizer's decisions"
    assert not denied, f"RBAC refused components: {sorted(denied)}"
