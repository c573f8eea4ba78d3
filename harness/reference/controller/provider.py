"""The provisioning provider interface (osac-operator `internal/provisioning`), reduced to what
the reconciler calls. The reference implementation is `reference_provider.ReferenceProvider`."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol


class RateLimitError(Exception):
    """The provider wants the trigger retried later (the reconciler requeues, no job recorded)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after:.1f} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class ProvisionResult:
    job_id: str
    initial_state: str
    message: str


@dataclass(frozen=True)
class ProvisionStatus:
    job_id: str
    state: str
    message: str = ""
    reconciled_version: str = ""
    error_details: str = ""


class DeprovisionAction(enum.Enum):
    TRIGGERED = "triggered"
    WAITING = "waiting"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class DeprovisionResult:
    action: DeprovisionAction
    job_id: str = ""
    block_deletion_on_failure: bool = False
    provision_job_status: ProvisionStatus | None = None


class ProvisioningProvider(Protocol):
    name: str

    def trigger_provision(self, ci: dict[str, Any], vm_namespace: str) -> ProvisionResult: ...

    def get_provision_status(self, ci: dict[str, Any], job_id: str) -> ProvisionStatus: ...

    def trigger_deprovision(self, ci: dict[str, Any]) -> DeprovisionResult: ...

    def get_deprovision_status(self, ci: dict[str, Any], job_id: str) -> ProvisionStatus: ...
