"""Inside a pod the harness needs no flags: the service environment names the API server, the
mounted service-account token is the identity (for Kubernetes and the fulfillment API), and the
mounted CA is trusted. The pod is faked: env vars point at a real HTTPS embedded API server,
and a temporary directory stands in for /var/run/secrets/kubernetes.io/serviceaccount."""

from __future__ import annotations

import json

import pytest

from harness.clients.kubernetes_api import KubeClient
from harness.clients.resources import KubeError
from harness.config import ConfigError, load_settings
from harness.reference.tls import write_server_certificate

SA_USER = "system:serviceaccount:harness:e2e"


@pytest.fixture
def https_apiserver(start_apiserver, tmp_path):
    ca, cert, key = write_server_certificate(tmp_path / "tls", ["127.0.0.1", "localhost"])
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"tokens": [{"token": "pod-token", "user": SA_USER}]}))
    server = start_apiserver(
        tokens=tokens, extra_args=["--tls-cert", str(cert), "--tls-key", str(key)]
    )
    return server, ca


def _service_account_dir(tmp_path, ca, token="pod-token"):
    directory = tmp_path / "serviceaccount"
    directory.mkdir()
    (directory / "token").write_text(token)  # the kubelet writes no newline
    (directory / "ca.crt").write_bytes(ca.read_bytes())
    (directory / "namespace").write_text("harness")
    return directory


def _pod_env(server, directory):
    return {
        "HARNESS_TARGET": "cluster",
        "HARNESS_API_ADDRESS": "fulfillment-api.osac:8000",
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(server.port),
        "HARNESS_SERVICE_ACCOUNT_DIR": str(directory),
    }


def test_in_a_pod_the_service_account_is_used_without_flags(https_apiserver, tmp_path):
    server, ca = https_apiserver
    assert server.url.startswith("https://")
    directory = _service_account_dir(tmp_path, ca)
    settings = load_settings({}, environ=_pod_env(server, directory))
    assert settings.in_cluster is not None
    assert settings.in_cluster.namespace == "harness"
    assert settings.kubeconfig is None
    assert settings.api_token == "pod-token"
    kube = KubeClient.from_settings(settings)
    try:
        assert kube.check_reachable().startswith("v1.")
        assert kube.whoami() == SA_USER
        assert "in-cluster" in kube.description
    finally:
        kube.close()


def test_a_given_kubeconfig_or_token_wins_over_the_pod(https_apiserver, tmp_path):
    server, ca = https_apiserver
    directory = _service_account_dir(tmp_path, ca)
    env = _pod_env(server, directory) | {"HARNESS_API_TOKEN": "explicit"}
    assert load_settings({}, environ=env).api_token == "explicit"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    assert load_settings({"--kubeconfig": str(kubeconfig)}, environ=env).in_cluster is None


def test_outside_a_pod_a_kubeconfig_is_still_required(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    env = {
        "HARNESS_TARGET": "cluster",
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
        "HARNESS_SERVICE_ACCOUNT_DIR": str(tmp_path / "absent"),
    }
    with pytest.raises(ConfigError, match="needs a kubeconfig"):
        load_settings({}, environ=env)


def test_an_untrusted_server_certificate_is_refused(https_apiserver, tmp_path):
    server, _ = https_apiserver
    other_ca, _, _ = write_server_certificate(tmp_path / "other", ["127.0.0.1"])
    directory = _service_account_dir(tmp_path, other_ca)
    settings = load_settings({}, environ=_pod_env(server, directory))
    kube = KubeClient.from_settings(settings)
    try:
        with pytest.raises(KubeError, match="presents a certificate we do not trust"):
            kube.check_reachable()
    finally:
        kube.close()
