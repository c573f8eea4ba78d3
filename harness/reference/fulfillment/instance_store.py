"""The ComputeInstance CRs of the hub namespace, through the official Kubernetes client.

One `ApiClient` (one connection pool, sized for the server's worker threads) serves every RPC.
Failed calls raise `RpcFailure` with the gRPC code for the HTTP status and the API server's own
message; transport failures (API server down, connection refused) become UNAVAILABLE.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import grpc
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, ReadTimeoutError

from harness.contract.profiles import Profile
from harness.reference.fulfillment.rpc_errors import RpcFailure, code_for_http_status

logger = logging.getLogger(__name__)

Obj = dict[str, Any]

# (connect, read) seconds for every call.
REQUEST_TIMEOUT = (5.0, 30.0)
MERGE_PATCH = "application/merge-patch+json"
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _status_message(error: ApiException) -> str:
    body = error.body.decode(errors="replace") if isinstance(error.body, bytes) else error.body
    if isinstance(body, str) and body:
        try:
            parsed = json.loads(body)
        except ValueError:
            return body.strip()
        if isinstance(parsed, dict) and parsed.get("message"):
            return str(parsed["message"])
    return f"{error.status} {error.reason or 'error'}"


@contextlib.contextmanager
def kube_errors(action: str) -> Iterator[None]:
    """Turn client exceptions into `RpcFailure`s that say what was being done."""
    try:
        yield
    except ApiException as error:
        status = int(error.status or 0)
        message = _status_message(error)
        if status == 422:
            # The API server's message names the field and the rule, e.g. "cores is immutable".
            raise RpcFailure(grpc.StatusCode.INVALID_ARGUMENT, message) from None
        raise RpcFailure(
            code_for_http_status(status), f"{action}: the API server answered {status}: {message}"
        ) from None
    except ReadTimeoutError as error:
        raise RpcFailure(
            grpc.StatusCode.DEADLINE_EXCEEDED, f"{action}: the API server did not answer: {error}"
        ) from None
    except (Urllib3Error, OSError) as error:
        cause = error.reason if isinstance(error, MaxRetryError) and error.reason else error
        raise RpcFailure(
            grpc.StatusCode.UNAVAILABLE, f"{action}: the API server is unreachable: {cause}"
        ) from None


class InstanceStore:
    def __init__(self, api_client: k8s.ApiClient, profile: Profile, namespace: str) -> None:
        self._api_client = api_client
        self._api = k8s.CustomObjectsApi(api_client)
        self._core_api: k8s.CoreV1Api | None = None
        self.profile = profile
        self.namespace = namespace

    def _core(self) -> k8s.CoreV1Api:
        # Built on first use: building CoreV1Api is slow (the official client builds pydantic
        # validators for its ~400 methods), and only user data needs it.
        if self._core_api is None:
            self._core_api = k8s.CoreV1Api(self._api_client)
        return self._core_api

    def _args(self) -> tuple[str, str, str, str]:
        p = self.profile
        return (p.group, p.version, self.namespace, p.plural)

    def find(self, instance_id: str) -> Obj | None:
        """The CR labelled with this id, or None; more than one is an error."""
        if not _LABEL_VALUE.match(instance_id) or len(instance_id) > 63:
            return None  # no CR can carry it as a label value
        with kube_errors(f"finding compute instance '{instance_id}'"):
            result = self._api.list_namespaced_custom_object(
                *self._args(),
                label_selector=f"{self.profile.uuid_label}={instance_id}",
                _request_timeout=REQUEST_TIMEOUT,
            )
        items = result.get("items") or []
        if len(items) > 1:
            names = ", ".join(item["metadata"]["name"] for item in items)
            raise RpcFailure(
                grpc.StatusCode.INTERNAL,
                f"expected at most one compute instance with identifier '{instance_id}' "
                f"but found {len(items)}: {names}",
            )
        return items[0] if items else None

    def list_all(self) -> list[Obj]:
        """Every CR that carries the uuid label, oldest first (name breaks ties)."""
        with kube_errors("listing compute instances"):
            result = self._api.list_namespaced_custom_object(
                *self._args(),
                label_selector=self.profile.uuid_label,
                _request_timeout=REQUEST_TIMEOUT,
            )
        items = list(result.get("items") or [])
        items.sort(
            key=lambda item: (
                item["metadata"].get("creationTimestamp") or "",
                item["metadata"].get("name") or "",
            )
        )
        return items

    def create(self, body: Obj) -> Obj:
        with kube_errors("creating the compute instance"):
            created = self._api.create_namespaced_custom_object(
                *self._args(), body, _request_timeout=REQUEST_TIMEOUT
            )
        if not isinstance(created, dict):
            raise RpcFailure(
                grpc.StatusCode.INTERNAL,
                "creating the compute instance: the API server returned no object",
            )
        return created

    def patch_spec(self, name: str, spec_patch: Obj) -> Obj:
        with kube_errors(f"updating compute instance {name}"):
            return self._api.patch_namespaced_custom_object(
                *self._args(),
                name,
                {"spec": spec_patch},
                _request_timeout=REQUEST_TIMEOUT,
                _content_type=MERGE_PATCH,
            )

    def delete(self, name: str) -> None:
        with kube_errors(f"deleting compute instance {name}"):
            try:
                self._api.delete_namespaced_custom_object(
                    *self._args(),
                    name,
                    propagation_policy="Background",
                    _request_timeout=REQUEST_TIMEOUT,
                )
            except ApiException as error:
                if error.status != 404:  # gone meanwhile: that is what was asked
                    raise

    def create_user_data_secret(self, name: str, owner: Obj, instance_id: str, data: str) -> None:
        """The Secret holding cloud-init user data, owned by the CR (created once)."""
        metadata = owner["metadata"]
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": {self.profile.uuid_label: instance_id},
                "ownerReferences": [
                    {
                        "apiVersion": self.profile.api_version,
                        "kind": self.profile.kind,
                        "name": metadata["name"],
                        "uid": metadata.get("uid", ""),
                    }
                ],
            },
            "stringData": {"userdata": data},
        }
        with kube_errors(f"creating user data secret {name}"):
            try:
                self._core().create_namespaced_secret(
                    self.namespace, body, _request_timeout=REQUEST_TIMEOUT
                )
            except ApiException as error:
                if error.status == 409:
                    return
                if error.status == 404:
                    # An API server without Secrets (the embedded one may lack core/v1
                    # secrets): the CR still names the Secret, as fulfillment-service does.
                    logger.warning("cannot create Secret %s: %s", name, _status_message(error))
                    return
                raise
