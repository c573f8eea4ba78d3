"""One reconcile pass over a ComputeInstance (osac-operator 912735a `Reconcile`/`handleUpdate`).

Order (contract §7.1): management-state `unmanaged` → ignore; finalizer (update, re-read);
initialise conditions and phase; tenant; VM lookup; restart handling; desired config version;
reconciled config version; provisioning. Status is edited in memory and written once at the end
when it changed, through `/status`, re-reading the object on conflict. The cluster is reached
only through a `ClusterPort`; era differences come from `EraRules`.

Deliberate differences from the operator:
- reads go to the API server, not an informer cache, so the operator's stale-cache re-check
  before triggering a job is implied;
- `spec.subnetRef` is not resolved to a Subnet CR (the embedded stack has no Subnet CRD);
- profiles A and A2 look the tenant up like profile B (annotation → Tenant in the tenant namespace)
  instead of creating its own Tenant object, since the stack seeds a ready Tenant and runs no
  tenant controller; they still return without requeue while the tenant is not ready, and build
  the finalizer before initialising conditions as B does;
- of two jobs with equal (whole-second) timestamps the later list entry is the latest
  (`jobs.find_latest`); Go keeps the earlier and could trigger a duplicate job;
- a status write that finds the CR gone (finalizers just removed) ends the pass quietly.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from harness.contract.profiles import Profile
from harness.contract.timestamps import format_rfc3339, now_utc
from harness.reference.component_client import ApiError, NotFoundError
from harness.reference.controller import jobs
from harness.reference.controller.config_version import desired_config_version
from harness.reference.controller.eras import EraRules, rules_for
from harness.reference.controller.outcome import DONE, Outcome, ReconcileError, requeue
from harness.reference.controller.provider import (
    DeprovisionAction,
    ProvisioningProvider,
    ProvisionStatus,
    RateLimitError,
)
from harness.reference.controller.restart import REFERENCE, RestartAlgorithm, VmiAccess

logger = logging.getLogger(__name__)

TENANT_PHASE_READY = "Ready"
MANAGEMENT_UNMANAGED = "unmanaged"
MANAGEMENT_MANUAL = "manual"
DEFAULT_POLL_INTERVAL = 30.0


class ClusterPort(VmiAccess, Protocol):
    def get_instance(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def update_instance(self, obj: dict[str, Any]) -> dict[str, Any]:
        """PUT the main resource (metadata/spec); raises `ConflictError` on a stale version."""

    def write_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        """PUT `/status` onto the latest object, retrying on conflict."""

    def get_tenant(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def list_vms(self, namespace: str, label: str, value: str) -> list[dict[str, Any]]: ...


@dataclass
class _Pass:
    ci: dict[str, Any]
    now: datetime
    vm_namespace: str = ""

    @property
    def status(self) -> dict[str, Any]:
        status = self.ci.get("status")
        if status is None:
            status = {}
            self.ci["status"] = status
        return status

    @property
    def annotations(self) -> dict[str, str]:
        return (self.ci.get("metadata") or {}).get("annotations") or {}

    @property
    def finalizers(self) -> list[str]:
        return list((self.ci.get("metadata") or {}).get("finalizers") or [])

    @property
    def name(self) -> str:
        return str((self.ci.get("metadata") or {}).get("name") or "")

    @property
    def namespace(self) -> str:
        return str((self.ci.get("metadata") or {}).get("namespace") or "")


def canonical_status(status: dict[str, Any] | None) -> dict[str, Any]:
    """Status as Go would compare it: zero values and omitted fields are the same."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            cleaned = {k: clean(v) for k, v in value.items()}
            return {k: v for k, v in cleaned.items() if v not in (None, "", [], {}, 0, False)}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return clean(status or {})


class Reconciler:
    def __init__(
        self,
        profile: Profile,
        cluster: ClusterPort,
        tenant_namespace: str,
        provider: ProvisioningProvider | None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_job_history: int = jobs.DEFAULT_MAX_JOB_HISTORY,
        clock: Callable[[], datetime] = now_utc,
        restart: RestartAlgorithm = REFERENCE,
    ) -> None:
        self.profile = profile
        self.restart = restart
        self.cluster = cluster
        self.tenant_namespace = tenant_namespace
        self.provider = provider
        self.poll_interval = poll_interval
        self.max_job_history = max_job_history
        self.clock = clock
        self.rules: EraRules = rules_for(profile)

    # entry point

    def reconcile(self, namespace: str, name: str) -> Outcome:
        try:
            ci = self.cluster.get_instance(namespace, name)
        except ApiError as error:
            return Outcome(error=error)
        if ci is None:
            return DONE
        if self.is_unmanaged(ci):
            logger.info("ignoring %s/%s due to management-state annotation", namespace, name)
            return DONE
        logger.debug("start reconcile %s/%s", namespace, name)
        old_status = copy.deepcopy(ci.get("status") or {})
        work = _Pass(ci=ci, now=self.clock())
        try:
            if (ci.get("metadata") or {}).get("deletionTimestamp"):
                outcome = self._handle_delete(work)
            else:
                outcome = self._handle_update(work)
        except (ApiError, ReconcileError) as error:
            outcome = Outcome(error=error)
        if canonical_status(work.ci.get("status")) != canonical_status(old_status):
            try:
                self.cluster.write_status(namespace, name, work.ci.get("status") or {})
            except NotFoundError:
                logger.debug("%s/%s is gone; status not written", namespace, name)
            except ApiError as error:
                return Outcome(requeue_after=outcome.requeue_after, error=error)
        return outcome

    def is_unmanaged(self, ci: dict[str, Any]) -> bool:
        """`management-state: unmanaged`: the operator ignores the CR (contract §6)."""
        annotations = (ci.get("metadata") or {}).get("annotations") or {}
        return annotations.get(self.profile.management_state_annotation) == MANAGEMENT_UNMANAGED

    # update path

    def _handle_update(self, work: _Pass) -> Outcome:
        profile = self.profile
        if profile.finalizer not in work.finalizers:
            metadata = work.ci.setdefault("metadata", {})
            metadata["finalizers"] = [*work.finalizers, profile.finalizer]
            self.cluster.update_instance(work.ci)
            fresh = self.cluster.get_instance(work.namespace, work.name)
            if fresh is None:
                raise NotFoundError(
                    404, f"{profile.plural}.{profile.group} {work.name!r} not found"
                )
            work.ci = fresh
        self.rules.initialise(work.ci, work.now)

        tenant = self._get_tenant(work)
        if (tenant.get("status") or {}).get("phase") != TENANT_PHASE_READY:
            logger.info("tenant %s is not ready", (tenant.get("metadata") or {}).get("name"))
            return self.rules.tenant_not_ready()
        self.rules.tenant_ready(work.ci, work.now)
        work.vm_namespace = str((tenant.get("status") or {}).get("namespace") or "")

        vm = self._find_vm(work)
        if vm is not None:
            self.rules.observe_vm(work.ci, vm, self._first_vmi_ip, work.now)
        else:
            self.rules.observe_no_vm(work.ci, work.now)

        self.restart.handle_restart(work.ci, profile, self.cluster, work.now)

        status = work.status
        status["desiredConfigVersion"] = desired_config_version(
            work.ci.get("spec"), self.rules.spec_fields
        )
        reconciled = work.annotations.get(profile.reconciled_config_version_annotation)
        if reconciled is None:
            status.pop("reconciledConfigVersion", None)
        else:
            status["reconciledConfigVersion"] = reconciled

        if status.get("desiredConfigVersion") == status.get("reconciledConfigVersion"):
            self.rules.config_applied(work.ci, work.now)
            if self.rules.uses_jobs and self.provider is not None:
                latest = jobs.find_latest(status.get("jobs"), jobs.TYPE_PROVISION)
                if latest is not None and not jobs.is_terminal(latest.get("state")):
                    return self._handle_provisioning(work)
            return DONE
        self.rules.config_pending(work.ci, work.now)
        if not self.rules.uses_jobs:
            return self._request_provision_era_a(work)
        return self._handle_provisioning(work)

    def _get_tenant(self, work: _Pass) -> dict[str, Any]:
        tenant_name = work.annotations.get(self.profile.tenant_annotation) or ""
        if not tenant_name:
            raise ReconcileError(f"tenant information for compute instance {work.name} not found")
        tenant = self.cluster.get_tenant(self.tenant_namespace, tenant_name)
        if tenant is None:
            raise NotFoundError(
                404, f'{self.profile.tenant_plural}.{self.profile.group} "{tenant_name}" not found'
            )
        metadata = tenant.get("metadata") or {}
        if metadata.get("deletionTimestamp"):
            raise ReconcileError(f"tenant is being deleted: {tenant_name}")
        work.status["tenantReference"] = {
            "name": metadata.get("name") or tenant_name,
            "namespace": metadata.get("namespace") or self.tenant_namespace,
        }
        return tenant

    def _find_vm(self, work: _Pass) -> dict[str, Any] | None:
        vms = self.cluster.list_vms(work.vm_namespace, self.profile.instance_name_label, work.name)
        if len(vms) > 1:
            raise ReconcileError(
                f"found too many ({len(vms)}) matching KubeVirt VMs for {work.name}"
            )
        return vms[0] if vms else None

    def _first_vmi_ip(self, namespace: str, name: str) -> str:
        try:
            vmi = self.cluster.get_vmi(namespace, name)
        except ApiError as error:
            logger.error("failed to get VirtualMachineInstance %s/%s: %s", namespace, name, error)
            return ""
        for interface in ((vmi or {}).get("status") or {}).get("interfaces") or []:
            if interface.get("ipAddress"):
                return str(interface["ipAddress"])
        return ""

    def _manual(self, work: _Pass) -> bool:
        return work.annotations.get(self.profile.management_state_annotation) == MANAGEMENT_MANUAL

    # provisioning (profile B: jobs in status)

    def _handle_provisioning(self, work: _Pass) -> Outcome:
        if self._manual(work) or self.provider is None:
            return DONE
        status = work.status
        latest = jobs.find_latest(status.get("jobs"), jobs.TYPE_PROVISION)
        if not self.rules.new_job_per_config_version:
            if latest is None or not latest.get("jobID"):
                return self._trigger_provision_job(work)
            return self._poll_provision_job(work, latest)
        if latest is not None and latest.get("jobID") and not jobs.is_terminal(latest.get("state")):
            return self._poll_provision_job(work, latest)
        if status.get("desiredConfigVersion") == status.get("reconciledConfigVersion"):
            return DONE
        return self._trigger_provision_job(work)

    def _trigger_provision_job(self, work: _Pass) -> Outcome:
        assert self.provider is not None
        status = work.status
        timestamp = format_rfc3339(self.clock())
        try:
            result = self.provider.trigger_provision(work.ci, work.vm_namespace)
        except RateLimitError as limited:
            logger.info("provisioning rate-limited, retry after %.1f s", limited.retry_after)
            return requeue(limited.retry_after)
        except Exception as error:
            logger.error("failed to trigger provisioning: %s", error)
            job = jobs.make_job(
                "",
                jobs.TYPE_PROVISION,
                timestamp,
                jobs.FAILED,
                f"Failed to trigger provisioning: {error}",
            )
            status["jobs"] = jobs.append_job(status.get("jobs"), job, self.max_job_history)
            return requeue(self.poll_interval)
        job = jobs.make_job(
            result.job_id, jobs.TYPE_PROVISION, timestamp, result.initial_state, result.message
        )
        status["jobs"] = jobs.append_job(status.get("jobs"), job, self.max_job_history)
        logger.info("provisioning job triggered: %s", result.job_id)
        return requeue(self.poll_interval)

    def _poll_provision_job(self, work: _Pass, latest: dict[str, Any]) -> Outcome:
        assert self.provider is not None
        job_id = str(latest.get("jobID"))
        try:
            result = self.provider.get_provision_status(work.ci, job_id)
        except Exception as error:
            updated = dict(latest, message=f"Failed to get job status: {error}")
            jobs.update_job(work.status.get("jobs"), updated)
            return requeue(self.poll_interval)
        jobs.update_job(work.status.get("jobs"), _with_result(latest, result))
        if not jobs.is_terminal(result.state):
            return requeue(self.poll_interval)
        if result.state == jobs.SUCCEEDED:
            if result.reconciled_version:
                work.status["reconciledConfigVersion"] = result.reconciled_version
            return DONE
        logger.info("provision job %s ended %s", job_id, result.state)
        # Profile B: a failed first provisioning (no VM yet) fails the instance; later failures
        # leave the phase to the VM's printableStatus.
        first = not work.status.get("virtualMachineReference")
        if first or not self.rules.failed_job_fails_only_first_provision:
            work.status["phase"] = self.profile.phases.failed
        return DONE

    def _request_provision_era_a(self, work: _Pass) -> Outcome:
        """Era A fires the create webhook while desired≠reconciled; no job is recorded."""
        if self._manual(work) or self.provider is None:
            return DONE
        try:
            self.provider.trigger_provision(work.ci, work.vm_namespace)
        except RateLimitError as limited:
            return requeue(limited.retry_after)
        except Exception as error:
            logger.error("failed to trigger provisioning: %s", error)
            return requeue(30.0)
        return DONE

    # delete path

    def _handle_delete(self, work: _Pass) -> Outcome:
        profile = self.profile
        work.status["phase"] = profile.phases.deleting
        if profile.finalizer not in work.finalizers:
            return DONE
        if self.rules.uses_jobs:
            outcome = self._handle_deprovisioning(work)
            if outcome.requeue_after > 0:
                return outcome
        elif profile.aap_finalizer in work.finalizers:
            if not self._manual(work) and self.provider is not None:
                self.provider.trigger_deprovision(work.ci)
            return DONE
        metadata = work.ci.setdefault("metadata", {})
        metadata["finalizers"] = [f for f in work.finalizers if f != profile.finalizer]
        self.cluster.update_instance(work.ci)
        return DONE

    def _handle_deprovisioning(self, work: _Pass) -> Outcome:
        if self._manual(work) or self.provider is None:
            return DONE
        status = work.status
        latest = jobs.find_latest(status.get("jobs"), jobs.TYPE_DEPROVISION)
        if latest is None or not latest.get("jobID"):
            return self._trigger_deprovision_job(work)
        try:
            result = self.provider.get_deprovision_status(work.ci, str(latest["jobID"]))
        except Exception as error:
            jobs.update_job(
                status.get("jobs"), dict(latest, message=f"Failed to get job status: {error}")
            )
            return requeue(self.poll_interval)
        jobs.update_job(status.get("jobs"), _with_result(latest, result))
        if not jobs.is_terminal(result.state):
            return requeue(self.poll_interval)
        if result.state == jobs.SUCCEEDED:
            return DONE
        if latest.get("blockDeletionOnFailure"):
            logger.info("deprovision job %s failed; deletion blocked", latest.get("jobID"))
            return requeue(self.poll_interval)
        return DONE

    def _trigger_deprovision_job(self, work: _Pass) -> Outcome:
        assert self.provider is not None
        status = work.status
        try:
            result = self.provider.trigger_deprovision(work.ci)
        except RateLimitError as limited:
            return requeue(limited.retry_after)
        except Exception as error:
            logger.error("failed to trigger deprovisioning: %s", error)
            return requeue(self.poll_interval)
        if result.provision_job_status is not None:
            latest_provision = jobs.find_latest(status.get("jobs"), jobs.TYPE_PROVISION)
            if latest_provision is not None:
                updated = dict(latest_provision, state=result.provision_job_status.state)
                _set_message(updated, result.provision_job_status.message)
                jobs.update_job(status.get("jobs"), updated)
        if result.action is DeprovisionAction.WAITING:
            return requeue(self.poll_interval)
        if result.action is DeprovisionAction.SKIPPED:
            return DONE
        job = jobs.make_job(
            result.job_id,
            jobs.TYPE_DEPROVISION,
            format_rfc3339(self.clock()),
            jobs.PENDING,
            "Deprovisioning job triggered",
            result.block_deletion_on_failure,
        )
        status["jobs"] = jobs.append_job(status.get("jobs"), job, self.max_job_history)
        return requeue(self.poll_interval)


def _set_message(job: dict[str, Any], message: str) -> None:
    if message:
        job["message"] = message
    else:
        job.pop("message", None)


def _with_result(job: dict[str, Any], result: ProvisionStatus) -> dict[str, Any]:
    updated = dict(job, state=result.state)
    message = (
        f"{result.message}: {result.error_details}" if result.error_details else result.message
    )
    _set_message(updated, message)
    return updated
