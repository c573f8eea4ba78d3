import datetime

from google.protobuf import any_pb2 as _any_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from harness.contract.wire.gen.cloudkit_jobs.shared_types.v1 import condition_status_type_pb2 as _condition_status_type_pb2
from harness.contract.wire.gen.cloudkit_jobs.shared_types.v1 import metadata_type_pb2 as _metadata_type_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ComputeInstanceState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPUTE_INSTANCE_STATE_UNSPECIFIED: _ClassVar[ComputeInstanceState]
    COMPUTE_INSTANCE_STATE_STARTING: _ClassVar[ComputeInstanceState]
    COMPUTE_INSTANCE_STATE_RUNNING: _ClassVar[ComputeInstanceState]
    COMPUTE_INSTANCE_STATE_FAILED: _ClassVar[ComputeInstanceState]
    COMPUTE_INSTANCE_STATE_DELETING: _ClassVar[ComputeInstanceState]

class ComputeInstanceConditionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPUTE_INSTANCE_CONDITION_TYPE_UNSPECIFIED: _ClassVar[ComputeInstanceConditionType]
    COMPUTE_INSTANCE_CONDITION_TYPE_PROGRESSING: _ClassVar[ComputeInstanceConditionType]
    COMPUTE_INSTANCE_CONDITION_TYPE_AVAILABLE: _ClassVar[ComputeInstanceConditionType]
    COMPUTE_INSTANCE_CONDITION_TYPE_FAILED: _ClassVar[ComputeInstanceConditionType]
    COMPUTE_INSTANCE_CONDITION_TYPE_DEGRADED: _ClassVar[ComputeInstanceConditionType]
    COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_IN_PROGRESS: _ClassVar[ComputeInstanceConditionType]
    COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_FAILED: _ClassVar[ComputeInstanceConditionType]
COMPUTE_INSTANCE_STATE_UNSPECIFIED: ComputeInstanceState
COMPUTE_INSTANCE_STATE_STARTING: ComputeInstanceState
COMPUTE_INSTANCE_STATE_RUNNING: ComputeInstanceState
COMPUTE_INSTANCE_STATE_FAILED: ComputeInstanceState
COMPUTE_INSTANCE_STATE_DELETING: ComputeInstanceState
COMPUTE_INSTANCE_CONDITION_TYPE_UNSPECIFIED: ComputeInstanceConditionType
COMPUTE_INSTANCE_CONDITION_TYPE_PROGRESSING: ComputeInstanceConditionType
COMPUTE_INSTANCE_CONDITION_TYPE_AVAILABLE: ComputeInstanceConditionType
COMPUTE_INSTANCE_CONDITION_TYPE_FAILED: ComputeInstanceConditionType
COMPUTE_INSTANCE_CONDITION_TYPE_DEGRADED: ComputeInstanceConditionType
COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_IN_PROGRESS: ComputeInstanceConditionType
COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_FAILED: ComputeInstanceConditionType

class ComputeInstance(_message.Message):
    __slots__ = ("id", "metadata", "spec", "status")
    ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    id: str
    metadata: _metadata_type_pb2.Metadata
    spec: ComputeInstanceSpec
    status: ComputeInstanceStatus
    def __init__(self, id: _Optional[str] = ..., metadata: _Optional[_Union[_metadata_type_pb2.Metadata, _Mapping]] = ..., spec: _Optional[_Union[ComputeInstanceSpec, _Mapping]] = ..., status: _Optional[_Union[ComputeInstanceStatus, _Mapping]] = ...) -> None: ...

class ComputeInstanceSpec(_message.Message):
    __slots__ = ("template", "template_parameters", "restart_requested_at")
    class TemplateParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _any_pb2.Any
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    RESTART_REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    template: str
    template_parameters: _containers.MessageMap[str, _any_pb2.Any]
    restart_requested_at: _timestamp_pb2.Timestamp
    def __init__(self, template: _Optional[str] = ..., template_parameters: _Optional[_Mapping[str, _any_pb2.Any]] = ..., restart_requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ComputeInstanceStatus(_message.Message):
    __slots__ = ("state", "conditions", "ip_address", "last_restarted_at")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    IP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    LAST_RESTARTED_AT_FIELD_NUMBER: _ClassVar[int]
    state: ComputeInstanceState
    conditions: _containers.RepeatedCompositeFieldContainer[ComputeInstanceCondition]
    ip_address: str
    last_restarted_at: _timestamp_pb2.Timestamp
    def __init__(self, state: _Optional[_Union[ComputeInstanceState, str]] = ..., conditions: _Optional[_Iterable[_Union[ComputeInstanceCondition, _Mapping]]] = ..., ip_address: _Optional[str] = ..., last_restarted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ComputeInstanceCondition(_message.Message):
    __slots__ = ("type", "status", "last_transition_time", "reason", "message")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST_TRANSITION_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    type: ComputeInstanceConditionType
    status: _condition_status_type_pb2.ConditionStatus
    last_transition_time: _timestamp_pb2.Timestamp
    reason: str
    message: str
    def __init__(self, type: _Optional[_Union[ComputeInstanceConditionType, str]] = ..., status: _Optional[_Union[_condition_status_type_pb2.ConditionStatus, str]] = ..., last_transition_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...
