"""`harness.reference.component_client`: kubeconfig errors (no server needed)."""

from __future__ import annotations

import pytest
import yaml

from harness.reference.component_client import KubeconfigError, load_api_client
from tests.kubevirt.cluster import write_kubeconfig


def test_missing_kubeconfig(tmp_path):
    with pytest.raises(KubeconfigError, match="cannot read kubeconfig"):
        load_api_client(tmp_path / "missing")


def test_invalid_yaml(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text("clusters: [\n  - {")
    with pytest.raises(KubeconfigError, match="is not valid YAML") as caught:
        load_api_client(path)
    assert "\n" not in str(caught.value)


def test_no_clusters(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\n")
    with pytest.raises(KubeconfigError, match="has no clusters"):
        load_api_client(path)


def test_dangling_context(tmp_path):
    path = write_kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:1")
    config = yaml.safe_load(path.read_text())
    config["current-context"] = "x"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(KubeconfigError, match="is invalid") as caught:
        load_api_client(path)
    assert "\n" not in str(caught.value)


def test_valid_kubeconfig_carries_server_and_token(tmp_path):
    client = load_api_client(write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:8080", "tok"))
    assert client.configuration.host == "http://127.0.0.1:8080"
    assert client.configuration.auth_settings()["BearerToken"]["value"] == "Bearer tok"
