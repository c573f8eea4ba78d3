"""Naming eras of the OSAC ComputeInstance API — the only place their names live.

The OSAC project renamed its API group, label prefixes, gRPC packages, phases and enum values
over time (contract §1). A run pins one *profile*; every other module asks the profile for a
name instead of spelling it. Enum values are compared by name, never by number, because numbers
were reused across eras.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Phases:
    """CR `status.phase` values that the harness and the reference stack act on."""

    starting: str
    running: str
    failed: str
    deleting: str
    stopping: str | None
    stopped: str | None
    paused: str | None
    all: tuple[str, ...]


@dataclass(frozen=True)
class ConditionTypes:
    restart_in_progress: str = "RestartInProgress"
    restart_failed: str = "RestartFailed"
    available: str = "Available"
    configuration_applied: str | None = None
    provisioned: str | None = None
    restart_required: str | None = None
    accepted: str | None = None
    progressing: str | None = None
    deleting: str | None = None

    def initial(self) -> tuple[str, ...]:
        """Condition types the operator initialises to False/`Initialized` (contract §5)."""
        names = (
            self.accepted,
            self.progressing,
            self.deleting,
            self.configuration_applied,
            self.available,
            self.provisioned,
            self.restart_required,
        )
        return tuple(name for name in names if name)


@dataclass(frozen=True)
class RestartVocabulary:
    """Reasons and message templates of the restart algorithm (contract §7.3, identical in A/B)."""

    reason_in_progress: str = "RestartInProgress"
    reason_no_vm_reference: str = "NoVMReference"
    reason_vmi_deletion_failed: str = "VMIDeletionFailed"
    message_no_vm_reference: str = "No VirtualMachine reference found"
    message_initiated: str = "Restart initiated at {requested}"
    message_waiting_for_vmi: str = (
        "Waiting for VMI to be created (restart requested at {requested})"
    )
    message_deletion_failed: str = "Failed to delete VMI: {error}"


@dataclass(frozen=True)
class GrpcNames:
    """Fully qualified gRPC names of one era (contract §11)."""

    public_package: str
    private_package: str
    # Python module (under harness.contract.wire.gen) holding the generated stubs.
    public_module: str
    private_module: str
    state_enum: str
    condition_type_enum: str
    condition_status_enum: str = "ConditionStatus"
    # Descriptor pool of the generated stubs: "" is protobuf's default pool. An era whose
    # package names another era also uses (with other enum names) needs a pool of its own.
    descriptor_pool: str = ""

    @property
    def public_service(self) -> str:
        return f"{self.public_package}.ComputeInstances"

    @property
    def private_service(self) -> str:
        return f"{self.private_package}.ComputeInstances"


@dataclass(frozen=True)
class OperatorEnv:
    """Environment variable names one operator release reads (contract §9.6)."""

    release: str
    namespace: str
    provision_webhook: str
    deprovision_webhook: str
    provider: str | None = None
    fulfillment_address: str | None = None

    @property
    def webhooks(self) -> tuple[str, str]:
        return (self.provision_webhook, self.deprovision_webhook)


# Every naming of the operator's environment, oldest first; a deployment that sets the names of
# another release than its CRD's has those settings silently ignored.
OPERATOR_ENVS: tuple[OperatorEnv, ...] = (
    OperatorEnv(
        "cloudkit, until 2026-02-10",
        "CLOUDKIT_COMPUTE_INSTANCE_NAMESPACE",
        "CLOUDKIT_COMPUTE_INSTANCE_CREATE_WEBHOOK",
        "CLOUDKIT_COMPUTE_INSTANCE_DELETE_WEBHOOK",
        fulfillment_address="CLOUDKIT_FULFILLMENT_SERVER_ADDRESS",
    ),
    OperatorEnv(
        "cloudkit, 2026-02-11 to 02-16",
        "CLOUDKIT_COMPUTE_INSTANCE_NAMESPACE",
        "CLOUDKIT_COMPUTE_INSTANCE_PROVISION_WEBHOOK",
        "CLOUDKIT_COMPUTE_INSTANCE_DEPROVISION_WEBHOOK",
        provider="CLOUDKIT_PROVISIONING_PROVIDER",
        fulfillment_address="CLOUDKIT_FULFILLMENT_SERVER_ADDRESS",
    ),
    OperatorEnv(
        "osac, from 2026-02-17",
        "OSAC_COMPUTE_INSTANCE_NAMESPACE",
        "OSAC_COMPUTE_INSTANCE_PROVISION_WEBHOOK",
        "OSAC_COMPUTE_INSTANCE_DEPROVISION_WEBHOOK",
        provider="OSAC_PROVISIONING_PROVIDER",
        fulfillment_address="OSAC_FULFILLMENT_SERVER_ADDRESS",
    ),
)
# Values of the operator's `<PREFIX>PROVISIONING_PROVIDER` (contract §9.3); unset means EDA.
PROVIDER_EDA = "eda"
PROVIDER_AAP = "aap"
PROVISIONING_PROVIDERS = (PROVIDER_EDA, PROVIDER_AAP)
# How the reference stack's jobs may read in `status.jobs`: as one of those providers records
# them, or `reference`, the harness's own ids and states.
REFERENCE_PROVIDER = "reference"
PROVIDER_STYLES = (REFERENCE_PROVIDER, *PROVISIONING_PROVIDERS)
# Names from before ComputeInstance was called that; no release of any profile reads them.
OBSOLETE_VM_ENV_PREFIX = "CLOUDKIT_VM_"


@dataclass(frozen=True)
class Profile:
    name: str
    era: str
    description: str
    group: str
    prefix: str
    phases: Phases
    conditions: ConditionTypes
    grpc: GrpcNames
    # Enum value names of ComputeInstanceState, keyed by the CR phase they mirror.
    state_by_phase: dict[str, str]
    condition_type_by_name: dict[str, str]
    env_prefix: str
    # The environment names of this profile's operator release.
    operator_env: OperatorEnv
    operator_deployment: str
    operator_namespace: str
    hub_namespace: str
    # Whether the CR carries the explicit VM fields (cores, image, ...) of era B.
    explicit_spec_fields: bool
    # Whether the operator runs provisioning as jobs recorded in `status.jobs` (contract §4,
    # §9.3), rather than by calling the create and delete webhooks.
    records_jobs: bool
    # How a VM that runs continuously is written in this era.
    vm_running_field: dict[str, object]
    vm_halted_field: dict[str, object]
    version: str = "v1alpha1"
    kind: str = "ComputeInstance"
    list_kind: str = "ComputeInstanceList"
    plural: str = "computeinstances"
    singular: str = "computeinstance"
    short_name: str = "ci"
    restart: RestartVocabulary = field(default_factory=RestartVocabulary)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{self.group}"

    # Labels, annotations and finalizers (contract §6).
    @property
    def uuid_label(self) -> str:
        return f"{self.prefix}computeinstance-uuid"

    @property
    def instance_name_label(self) -> str:
        """Label on VM and VMI naming the ComputeInstance CR they belong to."""
        return f"{self.prefix}computeinstance"

    @property
    def tenant_annotation(self) -> str:
        return f"{self.prefix}tenant"

    @property
    def management_state_annotation(self) -> str:
        return f"{self.prefix}management-state"

    @property
    def reconciled_config_version_annotation(self) -> str:
        return f"{self.prefix}reconciled-config-version"

    @property
    def floating_ip_annotation(self) -> str:
        return f"{self.prefix}floating-ip-address"

    @property
    def finalizer(self) -> str:
        return f"{self.prefix}computeinstance"

    @property
    def aap_finalizer(self) -> str:
        return f"{self.prefix}computeinstance-aap"

    @property
    def feedback_finalizer(self) -> str:
        return f"{self.prefix}computeinstance-feedback"

    @property
    def tenant_plural(self) -> str:
        return "tenants"

    def env(self, suffix: str) -> str:
        """Operator environment variable name of this era, e.g. `OSAC_TENANT_NAMESPACE`."""
        return f"{self.env_prefix}{suffix}"

    def state_for_phase(self, phase: str) -> str:
        return self.state_by_phase.get(phase, self.state_name("UNSPECIFIED"))

    def state_name(self, short: str) -> str:
        return f"COMPUTE_INSTANCE_STATE_{short}"

    def condition_type_name(self, cr_condition_type: str) -> str | None:
        return self.condition_type_by_name.get(cr_condition_type)


KUBEVIRT_GROUP = "kubevirt.io"
KUBEVIRT_VERSION = "v1"
VM_PLURAL = "virtualmachines"
VMI_PLURAL = "virtualmachineinstances"
VM_KIND = "VirtualMachine"
VMI_KIND = "VirtualMachineInstance"
# KubeVirt labels each virt-launcher pod with the name of the VMI it runs.
LAUNCHER_VMI_LABEL = "vm.kubevirt.io/name"
# The VM's `status.printableStatus` values contract §9.3 maps to a phase; any other value gives
# the phase Failed. Unknown and empty keep the phase the CR had.
PRINTABLE_STARTING = frozenset({"Provisioning", "WaitingForVolumeBinding", "Starting"})
PRINTABLE_RUNNING = frozenset({"Running", "Migrating", "WaitingForReceiver"})
PRINTABLE_KEEPING = frozenset({"Unknown", ""})
PRINTABLE_MAPPED = (
    PRINTABLE_STARTING
    | PRINTABLE_RUNNING
    | PRINTABLE_KEEPING
    | {
        "Paused",
        "Stopping",
        "Stopped",
    }
)

# The harness's own label (not an era's): marks one Create attempt so a retried Create can find
# an instance the first attempt may have made.
CREATE_ATTEMPT_LABEL = "harness.osac.io/create-attempt"
# The run ledger's labels: which run, pytest worker and test created an object (the leak sweep
# finds what a run left by them).
RUN_LABEL = "harness.osac.io/run"
WORKER_LABEL = "harness.osac.io/worker"
TEST_LABEL = "harness.osac.io/test"

CONDITION_STATUS_NAMES = {
    "True": "CONDITION_STATUS_TRUE",
    "False": "CONDITION_STATUS_FALSE",
    "Unknown": "CONDITION_STATUS_UNSPECIFIED",
}


OSAC = Profile(
    name="osac",
    era="B",
    description="osac.openshift.io, operator deletes the VMI (osac-operator 912735a)",
    group="osac.openshift.io",
    prefix="osac.openshift.io/",
    phases=Phases(
        starting="Starting",
        running="Running",
        failed="Failed",
        deleting="Deleting",
        stopping="Stopping",
        stopped="Stopped",
        paused="Paused",
        all=("Starting", "Running", "Failed", "Deleting", "Stopping", "Stopped", "Paused"),
    ),
    conditions=ConditionTypes(
        configuration_applied="ConfigurationApplied",
        provisioned="Provisioned",
        restart_required="RestartRequired",
    ),
    grpc=GrpcNames(
        public_package="osac.public.v1",
        private_package="osac.private.v1",
        public_module="osac.public.v1",
        private_module="osac.private.v1",
        state_enum="ComputeInstanceState",
        condition_type_enum="ComputeInstanceConditionType",
    ),
    state_by_phase={
        "Starting": "COMPUTE_INSTANCE_STATE_STARTING",
        "Running": "COMPUTE_INSTANCE_STATE_RUNNING",
        "Failed": "COMPUTE_INSTANCE_STATE_FAILED",
        "Deleting": "COMPUTE_INSTANCE_STATE_DELETING",
        "Stopping": "COMPUTE_INSTANCE_STATE_STOPPING",
        "Stopped": "COMPUTE_INSTANCE_STATE_STOPPED",
        "Paused": "COMPUTE_INSTANCE_STATE_PAUSED",
    },
    condition_type_by_name={
        "ConfigurationApplied": "COMPUTE_INSTANCE_CONDITION_TYPE_CONFIGURATION_APPLIED",
        "Available": "COMPUTE_INSTANCE_CONDITION_TYPE_AVAILABLE",
        "RestartInProgress": "COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_IN_PROGRESS",
        "RestartFailed": "COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_FAILED",
        "Provisioned": "COMPUTE_INSTANCE_CONDITION_TYPE_PROVISIONED",
        "RestartRequired": "COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_REQUIRED",
    },
    env_prefix="OSAC_",
    operator_env=OPERATOR_ENVS[2],
    operator_deployment="osac-operator-controller-manager",
    operator_namespace="osac-operator-system",
    hub_namespace="osac-computeinstance",
    explicit_spec_fields=True,
    records_jobs=True,
    vm_running_field={"runStrategy": "Always"},
    vm_halted_field={"runStrategy": "Halted"},
)

CLOUDKIT = Profile(
    name="cloudkit",
    era="A",
    description="cloudkit.openshift.io as of 2026-02-11 (operator c10285e)",
    group="cloudkit.openshift.io",
    prefix="cloudkit.openshift.io/",
    phases=Phases(
        starting="Progressing",
        running="Ready",
        failed="Failed",
        deleting="Deleting",
        stopping=None,
        stopped=None,
        paused=None,
        all=("Progressing", "Failed", "Ready", "Deleting"),
    ),
    conditions=ConditionTypes(
        accepted="Accepted",
        progressing="Progressing",
        deleting="Deleting",
    ),
    grpc=GrpcNames(
        public_package="fulfillment.v1",
        private_package="private.v1",
        public_module="fulfillment.v1",
        private_module="private.v1",
        state_enum="ComputeInstanceState",
        condition_type_enum="ComputeInstanceConditionType",
    ),
    state_by_phase={
        "Progressing": "COMPUTE_INSTANCE_STATE_PROGRESSING",
        "Ready": "COMPUTE_INSTANCE_STATE_READY",
        "Failed": "COMPUTE_INSTANCE_STATE_FAILED",
        "Deleting": "COMPUTE_INSTANCE_STATE_DELETING",
    },
    condition_type_by_name={
        "Progressing": "COMPUTE_INSTANCE_CONDITION_TYPE_PROGRESSING",
        "Accepted": "COMPUTE_INSTANCE_CONDITION_TYPE_PROGRESSING",
        "Available": "COMPUTE_INSTANCE_CONDITION_TYPE_READY",
        "RestartInProgress": "COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_IN_PROGRESS",
        "RestartFailed": "COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_FAILED",
    },
    env_prefix="CLOUDKIT_",
    operator_env=OPERATOR_ENVS[1],
    operator_deployment="cloudkit-operator-controller-manager",
    operator_namespace="cloudkit-operator-system",
    hub_namespace="cloudkit-computeinstance",
    explicit_spec_fields=False,
    records_jobs=False,
    vm_running_field={"running": True},
    vm_halted_field={"running": False},
)

# The cloudkit names with the phases and jobs of the operator of mid-February 2026: what the
# OSAC Ansible suites at their main were written for (contract §1.1).
CLOUDKIT_JOBS = replace(
    CLOUDKIT,
    name="cloudkit-jobs",
    era="A2",
    description=(
        "cloudkit.openshift.io with phases Starting/Running and status.jobs "
        "(osac-operator 36ae96c, 2026-02-16)"
    ),
    phases=Phases(
        starting="Starting",
        running="Running",
        failed="Failed",
        deleting="Deleting",
        stopping=None,
        stopped=None,
        paused=None,
        all=("Starting", "Running", "Failed", "Deleting"),
    ),
    grpc=replace(
        CLOUDKIT.grpc,
        public_module="cloudkit_jobs.fulfillment.v1",
        private_module="cloudkit_jobs.private.v1",
        descriptor_pool="cloudkit_jobs",
    ),
    state_by_phase={
        "Starting": "COMPUTE_INSTANCE_STATE_STARTING",
        "Running": "COMPUTE_INSTANCE_STATE_RUNNING",
        "Failed": "COMPUTE_INSTANCE_STATE_FAILED",
        "Deleting": "COMPUTE_INSTANCE_STATE_DELETING",
    },
    condition_type_by_name={
        **CLOUDKIT.condition_type_by_name,
        "Available": "COMPUTE_INSTANCE_CONDITION_TYPE_AVAILABLE",
    },
    records_jobs=True,
)

PROFILES: dict[str, Profile] = {
    profile.name: profile for profile in (OSAC, CLOUDKIT, CLOUDKIT_JOBS)
}
DEFAULT_PROFILE = OSAC.name


class UnknownProfileError(ValueError):
    pass


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise UnknownProfileError(f"unknown profile {name!r}; choose one of: {known}") from None
