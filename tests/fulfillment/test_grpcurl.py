"""grpcurl, a third-party client, against the reference fulfillment API over TLS with a bearer
token, as OSAC's scripts call the real one: `list`, `describe` and JSON requests, which work in
JSON names only because reflection serves them. Both profiles."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from harness.contract.profiles import Profile
from harness.reference.gobuild import NotBuilt
from harness.reference.grpcurl import find_grpcurl, pinned_version
from harness.reference.process import ComponentProcess
from harness.reference.tls import write_server_certificate
from tests.eras import EVERY_PROFILE
from tests.fulfillment.helpers import (
    USER_TOKEN,
    kube_api,
    start_apiserver,
    start_fulfillment,
)

TEMPLATE = "osac.templates.ocp_virt_vm"
REQUESTED = "2026-05-28T20:26:40Z"
PROFILES = EVERY_PROFILE
METHODS = ("Create", "Delete", "Get", "List", "Update")
TEMPLATE_FLAG = ("-msg-template",)  # describe also prints a JSON template of the message


@pytest.fixture(scope="module")
def grpcurl_path() -> Path:
    """run-tests.sh builds it (`python -m harness build-grpcurl`); without it this fails."""
    try:
        return find_grpcurl()
    except NotBuilt as error:
        pytest.fail(str(error))


@dataclass
class Served:
    profile: Profile
    address: str
    ca: Path
    kube: k8s.CustomObjectsApi
    grpcurl: Path

    def run(self, *command: str, **options: Any) -> str:
        """grpcurl's output; see `call`."""
        result = self.call(*command, **options)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def call(
        self,
        *command: str,
        flags: tuple[str, ...] = (),
        token: str | None = USER_TOKEN,
        verify: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """`grpcurl [flags] ADDRESS command…`, trusting the CA (`-cacert`) or checking nothing
        (`-insecure`), with the token as OSAC's scripts pass it."""
        tls = ["-cacert", str(self.ca)] if verify else ["-insecure"]
        auth = ["-H", f"Authorization: Bearer {token}"] if token else []
        argv = [str(self.grpcurl), *tls, *auth, *flags, self.address, *command]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)

    def invoke(self, method: str, body: dict[str, Any], verify: bool = True) -> dict[str, Any]:
        service = self.profile.grpc.public_service
        output = self.run(f"{service}/{method}", flags=("-d", json.dumps(body)), verify=verify)
        return dict(json.loads(output))

    def cr_spec(self, instance_id: str) -> dict[str, Any]:
        p = self.profile
        found = self.kube.list_namespaced_custom_object(
            p.group,
            p.version,
            p.hub_namespace,
            p.plural,
            label_selector=f"{p.uuid_label}={instance_id}",
        )["items"]
        assert len(found) == 1
        return dict(found[0]["spec"])


@pytest.fixture(scope="module", params=PROFILES)
def served(request, tmp_path_factory, grpcurl_path):
    profile: Profile = request.param
    tmp = tmp_path_factory.mktemp(f"grpcurl-{profile.name}")
    ca, cert, key = write_server_certificate(tmp / "tls", ["127.0.0.1", "localhost"])
    started: list[ComponentProcess] = []
    try:
        apiserver, kubeconfig = start_apiserver(tmp, profile)
        started.append(apiserver)
        fulfillment, address = start_fulfillment(
            tmp, profile, kubeconfig, "--tls-cert", str(cert), "--tls-key", str(key)
        )
        started.append(fulfillment)
        yield Served(profile, address, ca, kube_api(kubeconfig), grpcurl_path)
    finally:
        for process in reversed(started):
            process.stop()


def test_grpcurl_is_the_pinned_release(grpcurl_path):
    version = subprocess.run(
        [str(grpcurl_path), "-version"], capture_output=True, text=True, timeout=30, check=True
    )
    assert (version.stdout + version.stderr).split() == ["grpcurl", pinned_version()]


def test_list(served: Served):
    grpc_names = served.profile.grpc
    services = served.run("list", token=None).split()
    assert services == sorted(
        [
            grpc_names.public_service,
            grpc_names.private_service,
            "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
    )
    methods = served.run("list", grpc_names.public_service, token=None, verify=False).split()
    assert methods == [f"{grpc_names.public_service}.{m}" for m in sorted(METHODS)]


def test_describe_shows_json_names(served: Served):
    package = served.profile.grpc.public_package
    spec = served.run("describe", f"{package}.ComputeInstanceSpec", flags=TEMPLATE_FLAG)
    declaration, _, template = spec.partition("Message template:")
    assert "optional .google.protobuf.Timestamp restart_requested_at = 3;" in declaration
    assert json.loads(template)["restartRequestedAt"] == "1970-01-01T00:00:00Z"
    assert "templateParameters" in json.loads(template)
    request = served.run(
        "describe", f"{package}.ComputeInstancesUpdateRequest", flags=TEMPLATE_FLAG
    )
    template = json.loads(request.partition("Message template:")[2])
    assert set(template) == {"object", "updateMask"}
    assert template["updateMask"] == {"paths": [""]}  # grpcurl writes a FieldMask as a message
    assert "restartRequestedAt" in template["object"]["spec"]
    assert "lastRestartedAt" in template["object"]["status"]


def test_json_update_of_restart_requested_at_then_get(served: Served):
    created = served.invoke("Create", {"object": {"spec": {"template": TEMPLATE}}})["object"]
    instance_id = created["id"]
    assert "restartRequestedAt" not in created["spec"]
    # grpcurl reads a FieldMask only in its message form (`paths`, proto names), not as the
    # protojson string "spec.restartRequestedAt" (fullstorydev/grpcurl#393).
    updated = served.invoke(
        "Update",
        {
            "object": {
                "id": instance_id,
                "spec": {"template": TEMPLATE, "restartRequestedAt": REQUESTED},
            },
            "updateMask": {"paths": ["spec.restart_requested_at"]},
        },
    )["object"]
    assert updated["spec"]["restartRequestedAt"] == REQUESTED
    assert served.cr_spec(instance_id)["restartRequestedAt"] == REQUESTED
    got = served.invoke("Get", {"id": instance_id}, verify=False)["object"]
    assert got["spec"]["restartRequestedAt"] == REQUESTED
    assert got["metadata"]["creationTimestamp"]
    assert "restart_requested_at" not in json.dumps(got)


def test_the_peers_request_in_proto_names_is_read_too(served: Served):
    """OSAC's Ansible restart test sends `spec.restart_requested_at` by its proto name; a JSON
    parser takes either spelling, and grpcurl answers in JSON names."""
    instance_id = served.invoke("Create", {"object": {"spec": {"template": TEMPLATE}}})["object"][
        "id"
    ]
    later = "2026-05-28T20:30:00Z"
    body = {
        "object": {
            "id": instance_id,
            "spec": {"template": TEMPLATE, "restart_requested_at": later},
        },
        "updateMask": {"paths": ["spec.restart_requested_at"]},
    }
    assert served.invoke("Update", body)["object"]["spec"]["restartRequestedAt"] == later


def test_without_the_bearer_token_the_call_is_unauthenticated(served: Served):
    service = served.profile.grpc.public_service
    result = served.call(f"{service}/List", flags=("-d", "{}"), token=None)
    assert result.returncode != 0
    assert "Code: Unauthenticated" in result.stderr
