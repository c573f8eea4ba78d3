"""The command line: --crd/--seed loading, --tokens and --request-log, bad input, SIGTERM."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from kubernetes import client, config

from .helpers import CI_CRD, CI_GROUP, CI_PLURAL, CI_VERSION, CRD_DIR, api_error, compute_instance

MODULE = "harness.reference.apiserver"


def _run(args: list[str], timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", MODULE, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.fixture
def bad_files(tmp_path):
    files = {
        "broken.yaml": "kind: [unclosed\n",
        "notcrd.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        "badcrd.yaml": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: things.example.com}\nspec: {group: example.com}\n",
        "seed-unknown.yaml": "apiVersion: example.com/v1\nkind: Nothing\nmetadata: {name: x}\n",
        "seed-no-ns.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: nowhere}\n"
        ),
        "tokens.json": '{"tokens": "nope"}',
        "tokens-groups.json": '{"tokens": [{"token": "t", "user": "u", "groups": "admins"}]}',
        "tokens-empty.json": '{"tokens": [{"token": "", "user": "u"}]}',
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--port", "99999"], "port 99999 out of range"),
        (["--port", "http"], "invalid port"),
        (["--crd", "/nonexistent/crd.yaml"], "cannot read /nonexistent/crd.yaml"),
        (["--crd", "{dir}/broken.yaml"], "is not valid YAML"),
        (["--crd", "{dir}/notcrd.yaml"], "ConfigMap is not a CustomResourceDefinition"),
        (["--crd", "{dir}/badcrd.yaml"], "is invalid"),
        (["--seed", "{dir}/seed-unknown.yaml"], "no resource for apiVersion"),
        (["--seed", "{dir}/seed-no-ns.yaml"], 'namespaces "nowhere" not found'),
        (["--tokens", "{dir}/tokens.json"], "must hold"),
        (["--tokens", "{dir}/tokens-groups.json"], "'groups' must be a list of strings"),
        (["--tokens", "{dir}/tokens-empty.json"], "needs string fields 'token' and 'user'"),
        (["--plain-http", "--tls-cert", "{dir}/x.crt"], "--plain-http excludes --tls-cert"),
        (["--tls-cert", "{dir}/x.crt"], "--tls-cert and --tls-key go together"),
        (["--watch-window", "0"], "must be at least 1"),
        (["--frobnicate"], "unrecognized arguments"),
    ],
)
def test_bad_input_one_line_exit_2(bad_files, args, fragment):
    result = _run([arg.format(dir=bad_files) for arg in args])
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("apiserver: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_crd_files_seeds_tokens_and_request_log(tmp_path, start_apiserver):
    seed = tmp_path / "seed.yaml"
    instance = compute_instance("seeded")
    instance["metadata"]["namespace"] = "hub"
    instance["status"] = {"phase": "Running", "lastRestartedAt": "2026-01-01T00:00:00Z"}
    seed.write_text(
        yaml.safe_dump_all(
            [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "hub"}}, instance]
        )
    )
    tokens = tmp_path / "tokens.json"
    secret = "s3cr3t-token-value-0123456789"
    tokens.write_text(
        json.dumps({"tokens": [{"token": secret, "user": "system:serviceaccount:hub:ctl"}]})
    )
    log = tmp_path / "requests.jsonl"
    # One file per CRD name: a profile's own variant (name.<profile>.yaml) replaces its base.
    crds = sorted(p for p in CRD_DIR.glob("*.yaml") if "." not in p.stem.split("_", 1)[1])
    server = start_apiserver(crds=crds, seeds=[seed], tokens=tokens, request_log=log, token=secret)
    api_client = config.new_client_from_config(str(server.kubeconfig))
    custom = client.CustomObjectsApi(api_client)
    stored = custom.get_namespaced_custom_object(CI_GROUP, CI_VERSION, "hub", CI_PLURAL, "seeded")
    assert stored["status"]["phase"] == "Running", "seeding keeps status"
    assert stored["metadata"]["uid"] and stored["metadata"]["generation"] == 1
    assert stored["metadata"]["resourceVersion"].isdigit()
    crd = client.ApiextensionsV1Api(api_client).read_custom_resource_definition(
        CI_CRD.stem.split("_")[1] + "." + CI_GROUP
    )
    assert {c.type: c.status for c in crd.status.conditions}["Established"] == "True"
    unknown = config.new_client_from_config(
        str(server.kubeconfig_for("not-a-known-token", "stranger"))
    )
    assert api_error(client.CoreV1Api(unknown).list_namespace).status == 401
    anonymous = config.new_client_from_config(str(server.kubeconfig_for(None, "anonymous")))
    assert api_error(client.CoreV1Api(anonymous).read_namespace, "hub").status == 403
    server.stop()
    assert server.process.poll() == 0, "SIGTERM stops the server cleanly"
    text = log.read_text()
    assert secret not in text
    assert "not-a-known-token" not in text
    records = [json.loads(line) for line in text.splitlines()]
    for record in records:
        assert set(record) >= {"time", "user", "verb", "path", "query", "status", "duration_ms"}
    users = {record["user"] for record in records}
    assert users == {"system:serviceaccount:hub:ctl", None, "system:anonymous"}, "None: 401"
    get = next(r for r in records if r["path"].endswith("/computeinstances/seeded"))
    assert (get["verb"], get["status"], get["user"]) == (
        "get",
        200,
        "system:serviceaccount:hub:ctl",
    )
    assert any(r["verb"] == "list" and r["path"] == "/api/v1/namespaces" for r in records)
    assert secret not in server.log_path.read_text()


def test_https_by_default_plain_http_on_request(tmp_path, start_apiserver):
    """HTTPS with a CA of its own (in the READY line, then the kubeconfig) unless --plain-http;
    a token is needed either way, and the request log names who impersonated whom"""
    log = tmp_path / "requests.jsonl"
    secure = start_apiserver(request_log=log)
    assert secure.url.startswith("https://") and secure.ca_data
    plain = start_apiserver(extra_args=["--plain-http"])
    assert plain.url.startswith("http://") and plain.ca_data is None
    for server in (secure, plain):
        api_client = config.new_client_from_config(str(server.kubeconfig))
        assert client.CoreV1Api(api_client).read_namespace("default").metadata.name == "default"
        anonymous = config.new_client_from_config(str(server.kubeconfig_for(None, "nobody")))
        assert api_error(client.CoreV1Api(anonymous).list_namespace).status == 403
    api_client = config.new_client_from_config(str(secure.kubeconfig))
    api_client.set_default_header("Impersonate-User", "bob")
    client.CoreV1Api(api_client).list_namespace()
    secure.stop()
    records = [json.loads(line) for line in log.read_text().splitlines()]
    impersonated = [r for r in records if "impersonatedUser" in r]
    assert [(r["user"], r["impersonatedUser"], r["verb"]) for r in impersonated] == [
        ("harness-admin", "bob", "list")
    ]
