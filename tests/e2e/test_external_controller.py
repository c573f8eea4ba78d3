"""`harness up --no-controller`: any external controller is the system under test.

The suites run with `--target cluster` against the stack's env file, exactly as a user would
(`set -a; . .harness/env; set +a; pytest suites --target cluster`): with no controller in this
process (pytester), the harness plugin loaded by its entry point as in any run; with the
external controller under pytest-xdist, so as a child process.
"""

from __future__ import annotations

import threading

import pytest
from kubernetes import client, config

from harness.contract.profiles import PROFILES, Profile
from harness.reference.process import ComponentProcess
from tests.inprocess import REPO, output_of, run_pytest_inprocess

from .conftest import run_pytest


def run_restart_now(pytester, env, *settings: str) -> list[str]:
    """`restart_now` against the stack as a cluster; the failure's `E` lines."""
    result = run_pytest_inprocess(
        pytester,
        "-q",
        REPO / "suites" / "test_restart.py",
        "-k",
        "restart_now",
        "--target",
        "cluster",
        "-p",
        "no:randomly",
        *settings,
        env=env,
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output_of(result)
    result.assert_outcomes(failed=1)
    return [line for line in result.outlines if line.startswith("E ")]


@pytest.mark.timeout(180)  # what a child process was given
def test_with_no_controller_the_test_fails_within_the_liveness_bound(bare_stack, pytester):
    """The provisioning timeout is ten minutes; nobody reconciling is said after three seconds."""
    _, env = bare_stack
    lines = run_restart_now(
        pytester, env, "--provision-timeout", "600", "--operator-liveness-timeout", "3"
    )
    [failure] = [line for line in lines if "no operator is reconciling" in line]
    assert "no operator is reconciling ComputeInstance vm-" in failure
    assert "waited 3 s (--operator-liveness-timeout)" in failure
    assert f"watches namespace {env['HARNESS_NAMESPACE']}" in failure
    assert "python -m harness doctor" in failure
    assert "last seen: ComputeInstance vm-" in failure


@pytest.mark.timeout(180)
def test_an_operator_that_only_adds_its_finalizer_gets_the_provisioning_timeout(
    bare_stack, pytester
):
    """Alive but slow is not "nobody home": once a controller has touched the CR, the wait is
    the provisioning timeout and its message says what did not come."""
    _, env = bare_stack
    profile = PROFILES[env["HARNESS_PROFILE"]]
    stop = threading.Event()
    adder = threading.Thread(
        target=add_finalizers, args=(env, profile, stop), name="finalizer-only", daemon=True
    )
    adder.start()
    try:
        lines = run_restart_now(
            pytester, env, "--provision-timeout", "6", "--operator-liveness-timeout", "3"
        )
    finally:
        stop.set()
        adder.join(10)
    assert not any("no operator is reconciling" in line for line in lines), lines
    [failure] = [line for line in lines if "waited 6 s" in line]
    assert "phase Running with a virtualMachineReference" in failure


def add_finalizers(env: dict[str, str], profile: Profile, stop: threading.Event) -> None:
    """A controller that does nothing but hold the operator's finalizer on every CR it sees
    (and let go of it when the CR is deleted)."""
    api = client.CustomObjectsApi(config.new_client_from_config(config_file=env["KUBECONFIG"]))
    namespace = env["HARNESS_NAMESPACE"]
    while not stop.wait(0.2):
        listed = api.list_namespaced_custom_object(
            profile.group, profile.version, namespace, profile.plural
        )
        for item in listed["items"]:
            metadata = item["metadata"]
            held = metadata.get("finalizers") or []
            deleting = bool(metadata.get("deletionTimestamp"))
            if deleting == (profile.finalizer not in held):
                continue
            wanted = [f for f in held if f != profile.finalizer]
            if not deleting:
                wanted.append(profile.finalizer)
            patch = {
                "metadata": {"finalizers": wanted, "resourceVersion": metadata["resourceVersion"]}
            }
            try:
                api.patch_namespaced_custom_object(
                    profile.group, profile.version, namespace, profile.plural,
                    metadata["name"], patch,
                )  # fmt: skip
            except client.ApiException as error:
                if error.status not in (404, 409):
                    raise


def test_an_external_controller_using_only_the_written_kubeconfig_passes(bare_stack):
    state, env = bare_stack
    controller = ComponentProcess(
        "external-controller",
        "harness.reference.controller",
        ["--kubeconfig", str(state / "controller.kubeconfig"), "--profile", "osac"],
        state / "logs" / "external-controller.log",
    )
    controller.start()
    try:
        controller.wait_ready(60)
        result = run_pytest(
            [
                "suites",
                "--target",
                "cluster",
                "--quiet-window",
                "2",
                "--restart-timeout",
                "20",
                "--provision-timeout",
                "20",
                "-n",
                "2",
            ],
            env,
            timeout=600,
        )
    finally:
        controller.stop()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
