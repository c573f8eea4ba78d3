"""The reference provisioner: does in-process what the AAP/EDA create and delete playbooks do.

A provision job (one thread per job) waits the configured provision delay, adds the
`<prefix>computeinstance-aap` finalizer to the CR, creates or updates the KubeVirt VM (named like
the CR in the tenant namespace, labelled `<prefix>computeinstance=<CR>`, run state from the CR),
waits until the simulated KubeVirt reports the VM in that state, then sets the annotation
`<prefix>reconciled-config-version` to the `desiredConfigVersion` it applied. A deprovision job
deletes the VM, waits until it is gone and removes the `…-aap` finalizer.

Deviation from the playbook, on purpose: the finalizer is added *before* the VM is created, so a
CR deleted while its first job runs is always deprovisioned and no VM is orphaned.

Job states (Pending → Running → Succeeded/Failed/Canceled) are reported through the provider
interface in one of the provider styles of `job_styles` (ids, states and messages as the EDA or
AAP provider records them, or the harness's own); every change calls `notify(namespace, name)`
so the controller re-polls at once instead of waiting for the poll interval.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.contract.profiles import Profile
from harness.reference.component_client import AlreadyExistsError, Informer, NotFoundError
from harness.reference.controller import jobs
from harness.reference.controller.cluster import KubeCluster
from harness.reference.controller.job_styles import JobFacts, JobStyle, recorded_ids
from harness.reference.controller.provider import (
    DeprovisionAction,
    DeprovisionResult,
    ProvisionResult,
    ProvisionStatus,
    RateLimitError,
)
from harness.reference.controller.vm_manifest import (
    build_vm,
    vm_settled,
    vm_update_patch,
    wants_running,
)

logger = logging.getLogger(__name__)

DEFAULT_SETTLE_TIMEOUT = 120.0
DEFAULT_RETRY_AFTER_FAILURE = 10.0

Notify = Callable[[str, str], None]


class _Canceled(Exception):
    pass


@dataclass
class _Job:
    job_id: str
    kind: str
    ci_namespace: str
    ci_name: str
    ci_uid: str
    config_version: str
    vm_namespace: str
    ci: dict[str, Any]
    state: str = jobs.PENDING
    message: str = ""
    reconciled_version: str = ""
    ended_at: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def facts(self) -> JobFacts:
        return JobFacts(self.job_id, self.state, self.message, self.reconciled_version)


def _uid(ci: dict[str, Any]) -> str:
    metadata = ci.get("metadata") or {}
    return str(metadata.get("uid") or f"{metadata.get('namespace')}/{metadata.get('name')}")


class ReferenceProvider:
    name = "reference"

    def __init__(
        self,
        profile: Profile,
        cluster: KubeCluster,
        vm_cache: Informer,
        notify: Notify,
        provision_delay: float,
        settle_timeout: float = DEFAULT_SETTLE_TIMEOUT,
        retry_after_failure: float = DEFAULT_RETRY_AFTER_FAILURE,
        style: JobStyle | None = None,
    ) -> None:
        self.profile = profile
        self.style = style or JobStyle()
        self.cluster = cluster
        self.vm_cache = vm_cache
        self.notify = notify
        self.provision_delay = provision_delay
        self.settle_timeout = settle_timeout
        self.retry_after_failure = retry_after_failure
        self._lock = threading.Lock()
        self._jobs: dict[str, list[_Job]] = {}
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for job_list in self._jobs.values():
                for job in job_list:
                    job.cancel.set()

    # provider interface

    def trigger_provision(self, ci: dict[str, Any], vm_namespace: str) -> ProvisionResult:
        uid = _uid(ci)
        config_version = str((ci.get("status") or {}).get("desiredConfigVersion") or "")
        with self._lock:
            active = self._active(uid)
            if active is not None and active.kind == jobs.TYPE_PROVISION:
                return self._started(active)
            if active is not None:
                raise RuntimeError(f"deprovision job {active.job_id} is running")
            failed = self._last(uid, jobs.TYPE_PROVISION)
            if (
                failed is not None
                and failed.state == jobs.FAILED
                and failed.config_version == config_version
                and failed.ended_at is not None
            ):
                remaining = failed.ended_at + self.retry_after_failure - time.monotonic()
                if remaining > 0:
                    raise RateLimitError(remaining)
            job = self._new_job(
                ci, jobs.TYPE_PROVISION, config_version, vm_namespace, "Provision job queued"
            )
            result = self._started(job)
        self._start(job, self._run_provision)
        return result

    def _started(self, job: _Job) -> ProvisionResult:
        state, message = self.style.provision_started(job.facts())
        return ProvisionResult(job.job_id, state, message)

    def get_provision_status(self, ci: dict[str, Any], job_id: str) -> ProvisionStatus:
        with self._lock:
            job = self._find(_uid(ci), job_id)
            if job is None:
                return ProvisionStatus(
                    job_id,
                    jobs.FAILED,
                    "job unknown to the reference provisioner (controller restarted?)",
                )
            return self.style.provision_status(job.facts())

    def trigger_deprovision(self, ci: dict[str, Any]) -> DeprovisionResult:
        uid = _uid(ci)
        style = self.style
        with self._lock:
            active = self._active(uid)
            if active is not None and active.kind == jobs.TYPE_DEPROVISION:
                return DeprovisionResult(
                    DeprovisionAction.TRIGGERED,
                    job_id=active.job_id,
                    block_deletion_on_failure=style.block_deletion_on_failure,
                )
            if active is not None:
                # A provision job still runs: it is cancelled either way; EDA does not wait.
                active.cancel.set()
                if style.cancels_provision_first:
                    return DeprovisionResult(
                        DeprovisionAction.WAITING,
                        block_deletion_on_failure=style.block_deletion_on_failure,
                        provision_job_status=style.provision_status(
                            JobFacts(active.job_id, active.state, "Cancellation requested")
                        ),
                    )
            last_provision = self._last(uid, jobs.TYPE_PROVISION)
        provision_status = None
        if last_provision is not None and style.reports_provision_on_deprovision:
            provision_status = style.provision_status(last_provision.facts())
        metadata = ci.get("metadata") or {}
        fresh = self.cluster.get_instance(str(metadata.get("namespace")), str(metadata.get("name")))
        finalizers = ((fresh or ci).get("metadata") or {}).get("finalizers") or []
        if style.skips_without_finalizer and self.profile.aap_finalizer not in finalizers:
            logger.info(
                "no %s finalizer on %s: nothing to deprovision",
                self.profile.aap_finalizer,
                metadata.get("name"),
            )
            return DeprovisionResult(
                DeprovisionAction.SKIPPED, provision_job_status=provision_status
            )
        vm_namespace = last_provision.vm_namespace if last_provision is not None else ""
        with self._lock:
            job = self._new_job(
                fresh or ci, jobs.TYPE_DEPROVISION, "", vm_namespace, "Deprovisioning job triggered"
            )
        self._start(job, self._run_deprovision)
        return DeprovisionResult(
            DeprovisionAction.TRIGGERED,
            job_id=job.job_id,
            block_deletion_on_failure=style.block_deletion_on_failure,
            provision_job_status=provision_status,
        )

    def get_deprovision_status(self, ci: dict[str, Any], job_id: str) -> ProvisionStatus:
        uid = _uid(ci)
        finalizers = (ci.get("metadata") or {}).get("finalizers") or []
        finalized = self.profile.aap_finalizer not in finalizers
        with self._lock:
            job = self._find(uid, job_id)
            if job is not None:
                return self.style.deprovision_status(job.facts(), finalized)
        # The controller restarted while the job ran: adopt the job under the same id.
        if finalized:
            done = JobFacts(job_id, jobs.SUCCEEDED, "VirtualMachine deleted (finalizer removed)")
            return self.style.deprovision_status(done, finalized)
        with self._lock:
            job = self._new_job(
                ci, jobs.TYPE_DEPROVISION, "", "", "Deprovisioning job resumed", job_id
            )
        self._start(job, self._run_deprovision)
        return self.style.deprovision_status(job.facts(), finalized)

    # registry (callers hold the lock)

    def _active(self, uid: str) -> _Job | None:
        for job in self._jobs.get(uid, []):
            if not jobs.is_terminal(job.state):
                return job
        return None

    def _last(self, uid: str, kind: str) -> _Job | None:
        matching = [job for job in self._jobs.get(uid, []) if job.kind == kind]
        return matching[-1] if matching else None

    def _find(self, uid: str, job_id: str) -> _Job | None:
        for job in self._jobs.get(uid, []):
            if job.job_id == job_id:
                return job
        return None

    def _new_job(
        self,
        ci: dict[str, Any],
        kind: str,
        config_version: str,
        vm_namespace: str,
        message: str,
        job_id: str | None = None,
    ) -> _Job:
        uid = _uid(ci)
        known = [*recorded_ids(ci), *(job.job_id for job in self._jobs.get(uid, []))]
        metadata = ci.get("metadata") or {}
        job = _Job(
            job_id=job_id or self.style.new_id(known),
            kind=kind,
            ci_namespace=str(metadata.get("namespace") or ""),
            ci_name=str(metadata.get("name") or ""),
            ci_uid=uid,
            config_version=config_version,
            vm_namespace=vm_namespace,
            ci=copy.deepcopy(ci),
            message=message,
        )
        self._jobs.setdefault(uid, []).append(job)
        return job

    # job threads

    def _start(self, job: _Job, target: Callable[[_Job], None]) -> None:
        logger.info(
            "%s job %s for %s/%s started", job.kind, job.job_id, job.ci_namespace, job.ci_name
        )
        job.thread = threading.Thread(
            target=self._guarded, args=(job, target), name=f"job-{job.job_id}", daemon=True
        )
        job.thread.start()

    def _guarded(self, job: _Job, target: Callable[[_Job], None]) -> None:
        try:
            target(job)
        except _Canceled:
            self._set(job, jobs.CANCELED, "Job canceled")
        except Exception as error:
            logger.exception("%s job %s failed", job.kind, job.job_id)
            self._set(job, jobs.FAILED, f"{type(error).__name__}: {error}")

    def _set(self, job: _Job, state: str, message: str, reconciled_version: str = "") -> None:
        with self._lock:
            job.state = state
            job.message = message
            if reconciled_version:
                job.reconciled_version = reconciled_version
            if jobs.is_terminal(state):
                job.ended_at = time.monotonic()
        logger.info("%s job %s: %s (%s)", job.kind, job.job_id, state, message)
        if not self._stop.is_set():
            self.notify(job.ci_namespace, job.ci_name)

    def _pause(self, job: _Job, seconds: float) -> None:
        if job.cancel.wait(seconds) or self._stop.is_set():
            raise _Canceled()

    def _check(self, job: _Job) -> None:
        if job.cancel.is_set() or self._stop.is_set():
            raise _Canceled()

    def _run_provision(self, job: _Job) -> None:
        profile = self.profile
        vm_ref = f"{job.vm_namespace}/{job.ci_name}"
        self._set(job, jobs.RUNNING, f"Applying VirtualMachine {vm_ref}")
        self._pause(job, self.provision_delay)

        def add_finalizer(ci: dict[str, Any]) -> bool:
            metadata = ci.setdefault("metadata", {})
            if metadata.get("deletionTimestamp"):
                raise _Canceled()
            finalizers = list(metadata.get("finalizers") or [])
            if profile.aap_finalizer in finalizers:
                return False
            metadata["finalizers"] = [*finalizers, profile.aap_finalizer]
            return True

        if self.cluster.mutate_instance(job.ci_namespace, job.ci_name, add_finalizer) is None:
            raise RuntimeError(f"ComputeInstance {job.ci_namespace}/{job.ci_name} no longer exists")
        self._check(job)
        manifest = build_vm(profile, job.ci, job.vm_namespace)
        if self.cluster.get_vm(job.vm_namespace, job.ci_name) is None:
            try:
                self.cluster.create_vm(manifest)
            except AlreadyExistsError:
                self.cluster.patch_vm(
                    job.vm_namespace, job.ci_name, vm_update_patch(profile, job.ci)
                )
        else:
            self.cluster.patch_vm(job.vm_namespace, job.ci_name, vm_update_patch(profile, job.ci))
        running = wants_running(profile, job.ci.get("spec") or {})
        settled = self.vm_cache.wait_for(
            lambda: vm_settled(self.vm_cache.get(job.vm_namespace, job.ci_name), running),
            self.settle_timeout,
            stop=job.cancel,
        )
        self._check(job)
        if not settled:
            wanted = "ready" if running else "stopped"
            raise TimeoutError(
                f"VirtualMachine {vm_ref} not {wanted} after {self.settle_timeout:.0f} s"
            )

        def annotate(ci: dict[str, Any]) -> bool:
            annotations = ci.setdefault("metadata", {}).setdefault("annotations", {})
            if annotations.get(profile.reconciled_config_version_annotation) == job.config_version:
                return False
            annotations[profile.reconciled_config_version_annotation] = job.config_version
            return True

        if self.cluster.mutate_instance(job.ci_namespace, job.ci_name, annotate) is None:
            raise RuntimeError(f"ComputeInstance {job.ci_namespace}/{job.ci_name} no longer exists")
        self._set(
            job,
            jobs.SUCCEEDED,
            f"VirtualMachine {vm_ref} applied (config version {job.config_version})",
            reconciled_version=job.config_version,
        )

    def _run_deprovision(self, job: _Job) -> None:
        profile = self.profile
        # A cancelled provision job may still be on its way out: its VM calls end first.
        with self._lock:
            others = [
                other.thread
                for other in self._jobs.get(job.ci_uid, [])
                if other.kind == jobs.TYPE_PROVISION and other.thread is not None
            ]
        for thread in others:
            if thread is not threading.current_thread():
                thread.join(self.settle_timeout)
        self._set(job, jobs.RUNNING, "Deleting VirtualMachine")
        self._pause(job, self.provision_delay)
        label = profile.instance_name_label
        reference = (job.ci.get("status") or {}).get("virtualMachineReference") or {}
        namespace = str(reference.get("namespace") or job.vm_namespace or "")
        if namespace:
            targets = (
                [(namespace, job.ci_name)] if self.cluster.get_vm(namespace, job.ci_name) else []
            )
        else:
            targets = [
                (str(vm["metadata"].get("namespace")), str(vm["metadata"].get("name")))
                for vm in self.cluster.list_vms_anywhere(label, job.ci_name)
            ]
        for vm_namespace, vm_name in targets:
            with contextlib.suppress(NotFoundError):
                self.cluster.delete_vm(vm_namespace, vm_name)
        gone = self.vm_cache.wait_for(
            lambda: all(self.vm_cache.get(ns, n) is None for ns, n in targets),
            self.settle_timeout,
            stop=self._stop,
        )
        if not gone:
            raise TimeoutError(f"VirtualMachine still present after {self.settle_timeout:.0f} s")

        def remove_finalizer(ci: dict[str, Any]) -> bool:
            metadata = ci.setdefault("metadata", {})
            finalizers = list(metadata.get("finalizers") or [])
            if profile.aap_finalizer not in finalizers:
                return False
            metadata["finalizers"] = [f for f in finalizers if f != profile.aap_finalizer]
            return True

        self.cluster.mutate_instance(job.ci_namespace, job.ci_name, remove_finalizer)
        self._set(job, jobs.SUCCEEDED, "VirtualMachine deleted (finalizer removed)")
