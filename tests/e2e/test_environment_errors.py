"""A broken environment stops the run with exit code 20 and one line naming the problem —
never a failed or erroring restart test.

The suites run in this process (pytester), the harness plugin loaded by its entry point as in
any run; only the xdist case runs pytest as a child process, whose workers are processes."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
import yaml

from tests.inprocess import REPO, output_of, run_pytest_inprocess

from .conftest import run_pytest

NOT_READY = 20
SUITES = REPO / "suites"

pytestmark = pytest.mark.timeout(180)  # what a child process was given


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_suites(pytester, *args, env):
    """`pytest -q suites *args` with exactly `env` as harness settings, in this process."""
    return run_pytest_inprocess(pytester, "-q", SUITES, *args, env=env)


def assert_one_line(output, *fragments):
    lines = {line for line in output.splitlines() if "environment not ready: " in line}
    assert lines, output
    assert any(all(fragment in line for fragment in fragments) for line in lines), output
    assert "Traceback" not in output


def assert_not_ready(result, *fragments):
    """A run in this process: exit 20, the one line, and no test reported at all."""
    output = output_of(result)
    assert result.ret == NOT_READY, output
    [line] = [line for line in result.outlines if line.startswith("! environment not ready: ")]
    assert_one_line(line, *fragments)
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    result.assert_outcomes()  # nothing passed, failed, errored or was skipped: "no tests ran"
    result.stdout.fnmatch_lines(["no tests ran in *"])


def unreachable_kubeconfig(env, tmp_path):
    port = closed_port()
    kubeconfig = tmp_path / "kubeconfig"
    config = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())
    config["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{port}"
    kubeconfig.write_text(yaml.safe_dump(config))
    return port, kubeconfig


def test_unreachable_kubernetes_api(bare_stack, tmp_path, pytester):
    _, env = bare_stack
    port, kubeconfig = unreachable_kubeconfig(env, tmp_path)
    result = run_suites(pytester, "--target", "cluster", env={**env, "KUBECONFIG": str(kubeconfig)})
    assert_not_ready(result, f"http://127.0.0.1:{port}", "is unreachable: connection refused")


def test_unreachable_kubernetes_api_under_xdist(bare_stack, tmp_path):
    """Every worker stops on the preflight; xdist must not read that as a crashed worker
    (INTERNALERROR). The workers are processes: pytest runs as a child process here."""
    _, env = bare_stack
    port, kubeconfig = unreachable_kubeconfig(env, tmp_path)
    result = run_pytest(
        ["suites", "--target", "cluster", "-n", "2"], {**env, "KUBECONFIG": str(kubeconfig)}
    )
    output = result.stdout + result.stderr
    assert result.returncode == NOT_READY, output
    assert_one_line(output, f"http://127.0.0.1:{port}", "is unreachable: connection refused")
    assert not re.search(r"\b\d+ (passed|failed)\b", result.stdout), "tests ran anyway"
    assert "INTERNALERROR" not in output


def test_unreadable_kubeconfig(bare_stack, tmp_path, pytester):
    _, env = bare_stack
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("clusters: [this is not a kubeconfig\n")
    result = run_suites(pytester, "--target", "cluster", env={**env, "KUBECONFIG": str(kubeconfig)})
    assert_not_ready(result, f"kubeconfig {kubeconfig}")


def test_rejected_api_token(bare_stack, pytester):
    _, env = bare_stack
    result = run_suites(
        pytester, "--target", "cluster", env={**env, "HARNESS_API_TOKEN": "not-a-valid-token"}
    )
    assert_not_ready(result, "rejected the token")


def test_unreachable_fulfillment_api(bare_stack, pytester):
    _, env = bare_stack
    result = run_suites(
        pytester,
        "--target",
        "cluster",
        env={**env, "HARNESS_API_ADDRESS": f"127.0.0.1:{closed_port()}"},
    )
    assert_not_ready(result, "fulfillment API", "unreachable")


def test_missing_crd_names_the_crd_and_the_profile(bare_stack, pytester):
    _, env = bare_stack
    result = run_suites(pytester, "--target", "cluster", "--profile", "cloudkit", env=env)
    assert_not_ready(
        result, "does not serve computeinstances.cloudkit.openshift.io", "--profile cloudkit"
    )


def test_unknown_option_value_is_a_usage_error(bare_stack, pytester):
    _, env = bare_stack
    result = run_suites(pytester, "--target", "cluster", "--restart-timeout", "soon", env=env)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output_of(result)
    lines = [line for line in result.errlines if line.strip()]
    assert lines == ["ERROR: --restart-timeout must be a number of seconds, got 'soon'"], (
        result.errlines
    )
