"""Contract §7.6 row 8 with the real mechanism: the controller's own RBAC without `delete` on
virtualmachineinstances, on the real control plane.

The suites refuse one request with an admission policy, which works on any cluster without
knowing the operator's identity. Here the identity is known (the reference components' roles,
`harness/reference/controlplane/permissions.py`), so the refusal is genuine RBAC: the operator
meets the authorizer's own words, records them in RestartFailed, retries, and completes once
the role allows the delete again. The instance is driven with the testkit, as a suite drives it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as kube_config

from harness.clients.drivers import CrDriver
from harness.clients.fulfillment_api import InstanceSpec
from harness.clients.kubernetes_api import KubeClient
from harness.config import load_settings
from harness.reference.envfile import read_env
from harness.testkit.expectations import (
    assert_clean_restart,
    assert_running_vmi,
    restart_failed_vmi_deletion,
)
from harness.testkit.instance import ComputeInstanceUnderTest, HarnessContext
from harness.testkit.invariants import invariant_violations
from tests.environ import without_harness_settings

REPO = Path(__file__).resolve().parents[2]
ROLE = "osac-reference-controller"  # the controller's ClusterRole (permissions.py)
CONTROLLER = "system:serviceaccount:osac-operator-system:controller-manager"
VMIS = "virtualmachineinstances"


@pytest.fixture
def real_stack(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`harness up --control-plane real`; its env file as settings; stopped by PID."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "harness", "up"),
            *("--control-plane", "real", "--state-dir", str(tmp_path)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env=without_harness_settings(),
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert line.startswith("READY "), (tmp_path / "logs" / "stack.log").read_text()[-3000:]
        ready = json.loads(line[len("READY ") :])
        yield read_env(Path(ready["env"]))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def set_vmi_delete(rbac: k8s.RbacAuthorizationV1Api, allowed: bool) -> None:
    role = rbac.read_cluster_role(ROLE)
    for rule in role.rules:
        if VMIS in (rule.resources or []):
            verbs = [verb for verb in rule.verbs if verb != "delete"]
            rule.verbs = [*verbs, "delete"] if allowed else verbs
    rbac.replace_cluster_role(ROLE, role)


def await_authorizer(api: k8s.ApiClient, namespace: str, allowed: bool) -> None:
    """Until the authorizer answers the controller's VMI delete as `allowed` (it reads roles
    through an informer, a moment after the write)."""
    review = k8s.V1SubjectAccessReview(
        spec=k8s.V1SubjectAccessReviewSpec(
            user=CONTROLLER,
            groups=["system:serviceaccounts"],
            resource_attributes=k8s.V1ResourceAttributes(
                verb="delete", group="kubevirt.io", resource=VMIS, namespace=namespace
            ),
        )
    )
    authorization = k8s.AuthorizationV1Api(api)
    deadline = time.monotonic() + 30
    while authorization.create_subject_access_review(review).status.allowed != allowed:
        assert time.monotonic() < deadline, f"the authorizer never answered allowed={allowed}"
        time.sleep(0.1)


@pytest.mark.slow
def test_the_controller_without_vmi_delete_fails_in_rbacs_words_then_recovers(real_stack):
    environ = {**without_harness_settings(), **real_stack}
    settings = load_settings({"--target": "cluster", "--via": "cr"}, environ)
    kube = KubeClient.from_settings(settings)
    assert settings.tenant is not None
    driver = CrDriver(kube, settings.profile, settings.namespace, settings.tenant)
    context = HarnessContext(settings=settings, kube=kube, api=None, driver=driver)
    admin = kube_config.new_client_from_config(str(settings.kubeconfig))
    rbac = k8s.RbacAuthorizationV1Api(admin)
    instance = ComputeInstanceUnderTest(context, InstanceSpec())
    try:
        instance.create()
        instance.wait_provisioned()
        namespace, name = instance.vm_namespace or "", instance.vm_name or ""
        set_vmi_delete(rbac, allowed=False)
        await_authorizer(admin, namespace, allowed=False)

        request = instance.request_restart()
        failed = instance.wait_condition(
            restart_failed_vmi_deletion(settings.profile, error_contains="forbidden")
        )
        # The authorizer's words, measured on kube-apiserver v1.37.2, carried whole.
        assert failed["message"] == (
            f'Failed to delete VMI: {VMIS}.kubevirt.io "{name}" is forbidden: User '
            f'"{CONTROLLER}" cannot delete resource "{VMIS}" in API group "kubevirt.io" in '
            f'the namespace "{namespace}"'
        ), failed["message"]
        assert_running_vmi(instance, request.old_vmi_uid, "contract §7.3 row 4")

        set_vmi_delete(rbac, allowed=True)
        await_authorizer(admin, namespace, allowed=True)
        result = instance.wait_restart_completed(request, failure_expected=True)
        assert_clean_restart(instance, result)
        assert invariant_violations(instance) == []
        instance.delete()
        instance.wait_gone()
    finally:
        instance.stop_watching()
        kube.close()
        admin.close()
