"""Settings: flags over environment over defaults; one clear line per bad value."""

from __future__ import annotations

import pytest

from harness.config import ConfigError, load_settings
from harness.contract.profiles import CLOUDKIT, OSAC


def settings(flags=None, env=None):
    return load_settings(flags or {}, environ=env or {})


def test_defaults_target_the_embedded_stack_with_profile_osac():
    result = settings()
    assert result.target == "embedded"
    assert result.profile is OSAC
    assert result.namespace == OSAC.hub_namespace
    assert result.provision_timeout == 60.0


def test_environment_fills_what_flags_leave_out_and_flags_win(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    env = {
        "HARNESS_TARGET": "cluster",
        "HARNESS_PROFILE": "cloudkit",
        "KUBECONFIG": str(kubeconfig),
        "HARNESS_API_ADDRESS": "api.example:8000",
        "HARNESS_API_TOKEN": "from-env",
        "HARNESS_API_INSECURE": "true",
    }
    result = settings({"--api-token": "from-flag"}, env)
    assert result.profile is CLOUDKIT
    assert result.namespace == CLOUDKIT.hub_namespace
    assert result.api_token == "from-flag"
    assert result.api_tls.insecure
    assert result.provision_timeout == 900.0
    assert result.sources["--api-token"] == "--api-token"
    assert result.sources["--api-address"] == "$HARNESS_API_ADDRESS"


def test_token_file_is_read_and_stripped(tmp_path):
    token = tmp_path / "token"
    token.write_text("  secret-token\n")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("x")
    result = settings(
        {
            "--target": "cluster",
            "--kubeconfig": str(kubeconfig),
            "--api-address": "h:1",
            "--api-token-file": str(token),
        }
    )
    assert result.api_token == "secret-token"


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        (
            {"--target": "moon"},
            {},
            "--target must be one of embedded, cluster, got 'moon'",
        ),
        ({}, {"HARNESS_PROFILE": "era-z"}, "HARNESS_PROFILE must be one of"),
        ({"--restart-timeout": "soon"}, {}, "must be a number of seconds, got 'soon'"),
        ({"--provision-timeout": "-1"}, {}, "must be positive"),
        ({"--api-address": "h:1"}, {}, "--api-address applies to --target cluster"),
        (
            {"--target": "cluster", "--kubeconfig": "/nonexistent/kubeconfig"},
            {},
            "no readable file at /nonexistent/kubeconfig",
        ),
        (
            {"--target": "cluster"},
            {"HARNESS_API_PLAINTEXT": "maybe"},
            "must be true or false (1/0, yes/no, on/off), got 'maybe'",
        ),
    ],
)
def test_bad_values_give_one_line_naming_flag_and_variable(flags, env, message):
    with pytest.raises(ConfigError) as raised:
        settings(flags, env)
    text = str(raised.value)
    assert message in text
    assert "\n" not in text


def test_cluster_target_names_each_missing_connection_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("x")
    with pytest.raises(ConfigError, match="needs a kubeconfig"):
        settings({"--target": "cluster"})
    with pytest.raises(ConfigError, match="needs the fulfillment API"):
        settings({"--target": "cluster", "--kubeconfig": str(kubeconfig)})
    with pytest.raises(ConfigError, match="needs an API token"):
        settings({"--target": "cluster", "--kubeconfig": str(kubeconfig), "--api-address": "h:1"})
    with pytest.raises(ConfigError, match="must be host:port"):
        settings(
            {
                "--target": "cluster",
                "--kubeconfig": str(kubeconfig),
                "--api-address": "no-port",
                "--api-token": "t",
            }
        )


def test_leftover_cluster_variables_do_not_leak_into_an_embedded_run():
    result = settings({}, {"HARNESS_API_ADDRESS": "far.away:443", "HARNESS_API_TOKEN": "t"})
    assert result.api_address is None
    assert result.api_token is None


def test_connected_to_takes_the_stack_env(tmp_path):
    stack_env = {
        "KUBECONFIG": str(tmp_path / "kubeconfig"),
        "HARNESS_NAMESPACE": "hub",
        "HARNESS_TENANT": "tenant-x",
        "HARNESS_API_ADDRESS": "127.0.0.1:5000",
        "HARNESS_API_TOKEN": "user",
        "HARNESS_ADMIN_TOKEN": "admin",
        "HARNESS_API_CA": str(tmp_path / "ca.crt"),
    }
    result = settings().connected_to(stack_env)
    assert (result.api_address, result.api_token, result.namespace) == (
        "127.0.0.1:5000",
        "user",
        "hub",
    )
    assert result.api_tls.ca_file == tmp_path / "ca.crt"
    with pytest.raises(ConfigError, match="lacks 'HARNESS_API_CA'"):
        settings().connected_to({k: v for k, v in stack_env.items() if k != "HARNESS_API_CA"})
