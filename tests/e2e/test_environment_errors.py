"""A broken environment stops the run with exit code 20 and one line naming the problem —
never a failed or erroring restart test."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
import yaml

from .conftest import run_pytest

NOT_READY = 20


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_not_ready(result, *fragments):
    output = result.stdout + result.stderr
    assert result.returncode == NOT_READY, output
    assert "environment not ready: " in output
    for fragment in fragments:
        assert fragment in output, output
    assert "Traceback" not in output
    assert not re.search(r"\b\d+ (passed|failed)\b", result.stdout), "tests ran anyway"


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_unreachable_kubernetes_api(bare_stack, tmp_path, workers):
    """Under xdist every worker stops on the preflight; xdist must not read that as a crashed
    worker (INTERNALERROR)."""
    _, env = bare_stack
    port = closed_port()
    kubeconfig = tmp_path / "kubeconfig"
    config = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())
    config["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{port}"
    kubeconfig.write_text(yaml.safe_dump(config))
    result = run_pytest(
        ["suites", "--target", "cluster", *workers], {**env, "KUBECONFIG": str(kubeconfig)}
    )
    assert_not_ready(result, f"http://127.0.0.1:{port}", "is unreachable: connection refused")
    assert "INTERNALERROR" not in result.stdout + result.stderr


def test_unreadable_kubeconfig(bare_stack, tmp_path):
    _, env = bare_stack
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("clusters: [this is not a kubeconfig\n")
    result = run_pytest(["suites", "--target", "cluster"], {**env, "KUBECONFIG": str(kubeconfig)})
    assert_not_ready(result, f"kubeconfig {kubeconfig}")


def test_rejected_api_token(bare_stack):
    _, env = bare_stack
    result = run_pytest(
        ["suites", "--target", "cluster"], {**env, "HARNESS_API_TOKEN": "not-a-valid-token"}
    )
    assert_not_ready(result, "rejected the token")


def test_unreachable_fulfillment_api(bare_stack):
    _, env = bare_stack
    result = run_pytest(
        ["suites", "--target", "cluster"],
        {**env, "HARNESS_API_ADDRESS": f"127.0.0.1:{closed_port()}"},
    )
    assert_not_ready(result, "fulfillment API", "unreachable")


def test_missing_crd_names_the_crd_and_the_profile(bare_stack):
    _, env = bare_stack
    result = run_pytest(["suites", "--target", "cluster", "--profile", "cloudkit"], env)
    assert_not_ready(
        result, "does not serve computeinstances.cloudkit.openshift.io", "--profile cloudkit"
    )


def test_unknown_option_value_is_a_usage_error(bare_stack):
    _, env = bare_stack
    result = run_pytest(["suites", "--target", "cluster", "--restart-timeout", "soon"], env)
    assert result.returncode == 4
    assert (
        "--restart-timeout (or HARNESS_RESTART_TIMEOUT) must be a number of seconds"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
