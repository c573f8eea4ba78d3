"""The `ComputeInstances` RPC methods, shared by the public and the private service.

One instance serves one generated service (public or private) of the chosen profile; the message
classes come from that service's modules. Every method answers from the CR (contract §9,
§10 and §11); failures are `RpcFailure`s turned into a status by `_rpc`.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from harness.contract.profiles import Profile
from harness.reference.fulfillment import masks
from harness.reference.fulfillment import spec as spec_mapping
from harness.reference.fulfillment.bearer_auth import current_identity
from harness.reference.fulfillment.filters import compile_filter
from harness.reference.fulfillment.instance_store import InstanceStore
from harness.reference.fulfillment.record import RecordMapper
from harness.reference.fulfillment.rpc_errors import (
    RpcFailure,
    bounded,
    invalid_argument,
    not_found,
)

logger = logging.getLogger(__name__)

GENERATE_NAME = "vm-"

Method = TypeVar("Method", bound=Callable[..., Any])


def _rpc(method: Method) -> Method:
    """Answer `RpcFailure` with its status; anything unexpected with INTERNAL (and a log)."""

    @functools.wraps(method)
    def run(self: ComputeInstancesService, request: Message, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except RpcFailure as failure:
            logger.debug("%s failed: %s %s", method.__name__, failure.code.name, failure.message)
            context.abort(failure.code, failure.message)
        except Exception as error:
            logger.exception("%s failed unexpectedly", method.__name__)
            context.abort(grpc.StatusCode.INTERNAL, bounded(f"{method.__name__} failed: {error}"))

    return run  # type: ignore[return-value]


class ComputeInstancesService:
    def __init__(
        self,
        store: InstanceStore,
        profile: Profile,
        types: ModuleType,
        service: ModuleType,
        *,
        hub: str,
        full_replace_update: bool = False,
    ) -> None:
        self.store = store
        self.profile = profile
        self.types = types
        self.messages = service
        self.mapper = RecordMapper(profile, types, hub)
        self.private = self.mapper.private
        self.full_replace_update = full_replace_update

    # --- helpers ----------------------------------------------------------------------------

    def _require(self, instance_id: str) -> dict[str, Any]:
        if not instance_id:
            raise invalid_argument("object identifier is mandatory")
        cr = self.store.find(instance_id)
        if cr is None:
            raise not_found(f"compute instance '{instance_id}' does not exist")
        return cr

    def _object(self, request: Message) -> Message:
        if not request.HasField("object"):
            raise invalid_argument("object is mandatory")
        return request.object

    def _tenant(self, instance: Message) -> str:
        requested = list(instance.metadata.tenants)
        if self.private and len(requested) == 1 and requested[0]:
            return requested[0]
        return current_identity().tenant

    def _ensure_user_data(self, instance: Message, cr: dict[str, Any], instance_id: str) -> None:
        fields = instance.spec.DESCRIPTOR.fields_by_name
        if "user_data_secret_ref" in fields and instance.spec.HasField("user_data_secret_ref"):
            self.store.create_user_data_secret(
                spec_mapping.user_data_secret_name(instance_id),
                cr,
                instance_id,
                instance.spec.user_data_secret_ref,
            )

    # --- methods ----------------------------------------------------------------------------

    @_rpc
    def List(self, request: Message, _context: grpc.ServicerContext) -> Message:
        offset = request.offset if request.HasField("offset") else 0
        limit = request.limit if request.HasField("limit") else 0
        if offset < 0 or limit < 0:
            raise invalid_argument("offset and limit must not be negative")
        items = [self.mapper.to_api(cr) for cr in self.store.list_all()]
        if request.HasField("filter") and request.filter.strip():
            matches = compile_filter(request.filter)
            items = [item for item in items if matches(item)]
        page = items[offset : offset + limit] if limit else items[offset:]
        return self.messages.ComputeInstancesListResponse(
            size=len(page), total=len(items), items=page
        )

    @_rpc
    def Get(self, request: Message, _context: grpc.ServicerContext) -> Message:
        cr = self._require(request.id)
        return self.messages.ComputeInstancesGetResponse(object=self.mapper.to_api(cr))

    @_rpc
    def Create(self, request: Message, _context: grpc.ServicerContext) -> Message:
        instance = self._object(request)
        if not instance.spec.template:
            raise invalid_argument("template ID is mandatory")
        instance_id = str(uuid.uuid4())
        labels = dict(instance.metadata.labels)
        labels[self.profile.uuid_label] = instance_id
        annotations = dict(instance.metadata.annotations)
        annotations[self.profile.tenant_annotation] = self._tenant(instance)
        body = {
            "apiVersion": self.profile.api_version,
            "kind": self.profile.kind,
            "metadata": {
                "generateName": GENERATE_NAME,
                "namespace": self.store.namespace,
                "labels": labels,
                "annotations": annotations,
            },
            "spec": spec_mapping.cr_spec(instance.spec, self.profile, instance_id),
        }
        created = self.store.create(body)
        self._ensure_user_data(instance, created, instance_id)
        logger.info("created %s as %s", instance_id, created["metadata"].get("name"))
        return self.messages.ComputeInstancesCreateResponse(object=self.mapper.to_api(created))

    def _update_patch(self, request: Message, cr: dict[str, Any]) -> dict[str, Any]:
        instance = request.object
        spec = instance.spec
        paths = list(request.update_mask.paths) if request.HasField("update_mask") else []
        if self.full_replace_update:
            # Before fulfillment-service 0cff9a06 the mask was ignored and the request replaced
            # the record; unset fields are wiped (required CRD fields fall back to defaults).
            if not spec.template:
                raise invalid_argument("template ID is mandatory")
            return spec_mapping.replace_patch(spec, self.profile, instance.id, cr.get("spec") or {})
        if paths:
            selected = masks.resolve(paths, instance.DESCRIPTOR)
        else:
            if not spec.template:
                raise invalid_argument("template ID is mandatory")
            selected = masks.present_paths(spec)
        patch = masks.spec_patch(spec, selected, instance.id)
        if "templateID" in patch and not patch["templateID"]:
            raise invalid_argument("template ID is mandatory")
        return patch

    @_rpc
    def Update(self, request: Message, _context: grpc.ServicerContext) -> Message:
        instance = self._object(request)
        cr = self._require(instance.id)
        patch = self._update_patch(request, cr)
        updated = cr
        if patch:
            updated = self.store.patch_spec(cr["metadata"]["name"], patch)
            if patch.get("userDataSecretRef"):
                self._ensure_user_data(instance, updated, instance.id)
            logger.info("updated %s: %s", instance.id, sorted(patch))
        return self.messages.ComputeInstancesUpdateResponse(object=self.mapper.to_api(updated))

    @_rpc
    def Delete(self, request: Message, _context: grpc.ServicerContext) -> Message:
        cr = self._require(request.id)
        if not cr["metadata"].get("deletionTimestamp"):
            self.store.delete(cr["metadata"]["name"])
            logger.info("deleting %s (%s)", request.id, cr["metadata"]["name"])
        return self.messages.ComputeInstancesDeleteResponse()

    @_rpc
    def Signal(self, request: Message, _context: grpc.ServicerContext) -> Message:
        # The record is re-read from the CR on every call, so there is nothing to re-evaluate.
        if not request.id:
            raise invalid_argument("object identifier is mandatory")
        return self.messages.ComputeInstancesSignalResponse()
