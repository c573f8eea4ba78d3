"""Checks of the Kubernetes side: API, our permissions, CRDs and their era, KubeVirt."""

from __future__ import annotations

from typing import Any

from harness.clients.resources import (
    FORBIDDEN,
    UNAUTHENTICATED,
    UNREACHABLE,
    UNTRUSTED,
    Forbidden,
    KubeError,
)
from harness.contract.profiles import (
    KUBEVIRT_GROUP,
    KUBEVIRT_VERSION,
    PROFILES,
    VM_PLURAL,
    VMI_PLURAL,
)
from harness.doctor.access import (
    CLUSTER,
    HUB,
    OPERATOR,
    Access,
    doctor_access,
    evidence_access,
    required_access,
)
from harness.doctor.context import CRD, KUBEVIRT_INSTALL, DoctorContext
from harness.doctor.model import Outcome, failed, passed, warned

KUBECONFIG_FIX = (
    "check the kubeconfig and context (--kubeconfig, --kube-context), that the cluster is up, "
    "and that the credentials are current (oc login / a fresh token)"
)
# What to do, by the kind of failure (`KubeError.cause`).
FIXES = {
    UNREACHABLE: "nothing answers at that address: check the server in the kubeconfig and "
    "context (--kubeconfig, --kube-context), that the cluster is up and that a VPN or "
    "port-forward it needs is running",
    UNTRUSTED: "the kubeconfig's certificate-authority does not sign the server's certificate: "
    "take the kubeconfig from this cluster again (or fix its certificate-authority-data)",
    UNAUTHENTICATED: "the token or client certificate is expired, revoked (its ServiceAccount "
    "deleted) or from another cluster: log in again (oc login) or mint a fresh token "
    "(kubectl create token <service-account>) and put it in the kubeconfig",
    FORBIDDEN: "the server knows who we are but refuses us even the version: check the "
    "identity in the kubeconfig",
}


def api_reachable(ctx: DoctorContext) -> Outcome:
    if ctx.kube is None:
        return failed(str(ctx.cache.get("kube_error", "no Kubernetes client")), KUBECONFIG_FIX)
    kube = ctx.kube
    try:
        version = kube.check_reachable()
    except KubeError as error:
        return failed(str(error), FIXES.get(error.cause, KUBECONFIG_FIX))
    try:
        who = f"authenticated as {kube.whoami()}"
    except Exception:  # SelfSubjectReview is served from Kubernetes 1.28 on
        who = "identity not shown (no SelfSubjectReview before Kubernetes 1.28)"
    return passed(f"{kube.description}: Kubernetes {version}, {who}")


def namespaces(ctx: DoctorContext) -> Outcome:
    """The hub namespace the suites create, watch and sweep ComputeInstances in exists: a list
    or watch in a missing namespace answers an empty list, so nothing else would notice."""
    kube = ctx.require_kube()
    hub = ctx.settings.namespace
    try:
        found = kube.read_namespace(hub)
    except Forbidden as error:
        # The server's words name the namespace read as if namespaced; the grant is a
        # ClusterRole's (jobs/base/rbac-doctor.yaml).
        read = next(a for a in doctor_access() if a.resource == "namespaces").describe({})
        return failed(
            f"cannot tell whether hub namespace {hub} exists: our identity may not {read} "
            f"({error})",
            f"grant the harness's identity {read} (jobs/base/rbac-doctor.yaml)",
        )
    if found is not None:
        return passed(f"hub namespace {hub} exists")
    default = ctx.profile.hub_namespace
    evidence = f"hub namespace {hub} (--namespace, HARNESS_NAMESPACE) does not exist"
    fix = "pass --namespace (HARNESS_NAMESPACE) naming the namespace of the ComputeInstance CRs"
    if default != hub and kube.read_namespace(default) is not None:
        evidence += f"; profile {ctx.profile.name}'s hub namespace {default} does"
        fix = f"pass --namespace {default} (HARNESS_NAMESPACE), or the namespace of the CRs"
    return failed(
        f"{evidence}: the suites would watch an empty namespace and fail with no "
        "ComputeInstance seen",
        fix + " the fulfillment API creates",
    )


def _denied(ctx: DoctorContext, rules: list[Access]) -> list[str]:
    """Each rule SelfSubjectAccessReview denies us, described with the server's reason."""
    kube = ctx.require_kube()
    namespaces = {HUB: ctx.settings.namespace, OPERATOR: ctx.operator_namespace}
    denied = []
    for rule in rules:
        namespace = "" if rule.scope == CLUSTER else namespaces[rule.scope]
        resource, _, subresource = rule.resource.partition("/")
        allowed, reason = kube.access_review(
            rule.verb, rule.group, resource, namespace, subresource=subresource
        )
        if not allowed:
            denied.append(rule.describe(namespaces) + (f" ({reason})" if reason else ""))
    return denied


def access(ctx: DoctorContext) -> Outcome:
    checked = required_access(ctx.profile, ctx.settings.via)
    denied = _denied(ctx, checked)
    if denied:
        return failed(
            f"SelfSubjectAccessReview denies: {'; '.join(denied)}",
            "grant the harness's identity these verbs (jobs/base/rbac-*.yaml are exactly the "
            "rules the suites need; --via cr also needs create and delete, overlay via-cr)",
        )
    return passed(f"allowed all {len(checked)} verbs the suites use (--via {ctx.settings.via})")


def evidence(ctx: DoctorContext) -> Outcome:
    checked = evidence_access()
    denied = _denied(ctx, checked)
    if not denied:
        return passed(f"allowed all {len(checked)} reads of a run's evidence")
    missing = (
        f"SelfSubjectAccessReview denies: {'; '.join(denied)}: failing tests' diagnostics and "
        "environment.json will say what they could not read"
    )
    fix = "grant these reads (jobs/base/rbac-evidence.yaml)"
    if ctx.options.require_evidence:
        return failed(missing, fix)
    return warned(missing, fix + ", or accept results without that evidence")


def _crd_era_hints(crd: dict[str, Any]) -> list[str]:
    """Signs in a ComputeInstance CRD that it is newer than profile B's pinned operator."""
    versions = crd.get("spec", {}).get("versions") or []
    schema = (versions[0].get("schema") or {}).get("openAPIV3Schema") if versions else None
    status = ((schema or {}).get("properties") or {}).get("status") or {}
    spec = ((schema or {}).get("properties") or {}).get("spec") or {}
    hints = []
    if "provisioningJobs" in (status.get("properties") or {}):
        hints.append("status.provisioningJobs (renamed from jobs on 2026-06-19)")
    if "networkAttachments" in (spec.get("properties") or {}):
        hints.append("spec.networkAttachments")
    return hints


def _status_schema(crd: dict[str, Any]) -> dict[str, Any]:
    versions = crd.get("spec", {}).get("versions") or []
    schema = (versions[0].get("schema") or {}).get("openAPIV3Schema") if versions else None
    return (((schema or {}).get("properties") or {}).get("status") or {}).get("properties") or {}


def schema_profiles(crd: dict[str, Any]) -> list[str]:
    """The profiles of the CRD's group whose schema it has: the same phases (as a set) and
    `status.jobs` exactly when the profile records jobs. Profiles that share a group (cloudkit
    and cloudkit-jobs) differ there and nowhere in their names."""
    group = crd.get("spec", {}).get("group")
    status = _status_schema(crd)
    phases = set((status.get("phase") or {}).get("enum") or [])
    return [
        profile.name
        for profile in PROFILES.values()
        if profile.group == group
        and phases == set(profile.phases.all)
        and ("jobs" in status) == profile.records_jobs
    ]


def _serves(ctx: DoctorContext, profile: Any) -> bool:
    served = ctx.require_kube().served_resources(profile.group, profile.version) or set()
    return profile.plural in served


def computeinstance_crd(ctx: DoctorContext) -> Outcome:
    kube = ctx.require_kube()
    profile = ctx.profile
    # Asked first, so that an identity without it (the in-cluster Job's) is never refused.
    readable, _ = kube.access_review("get", CRD.group, CRD.plural, name=profile.crd_name)
    crd = kube.get_cluster_scoped(CRD, profile.crd_name) if readable else None
    if not readable and _serves(ctx, profile):
        # Discovery still tells the era.
        return passed(
            f"{profile.crd_name} served at {profile.version} (discovery; the CRD itself is "
            f"not readable here): era {profile.era} ({profile.name})"
        )
    if crd is None:
        others = [
            other.name
            for other in PROFILES.values()
            if other.name != profile.name and _serves(ctx, other)
        ]
        if others:
            return failed(
                f"no CRD {profile.crd_name}; the cluster has {PROFILES[others[0]].crd_name} "
                f"(profile {others[0]})",
                f"run with --profile {others[0]} (HARNESS_PROFILE={others[0]})",
            )
        return failed(
            f"no CRD {profile.crd_name} (nor any other era's ComputeInstance CRD)",
            "install the operator's CRDs (config/crd/bases or charts/operator-crds)",
        )
    served = [v["name"] for v in crd["spec"].get("versions", []) if v.get("served")]
    if profile.version not in served:
        return failed(
            f"CRD {profile.crd_name} serves {served}, not {profile.version}",
            "install the operator release that matches the profile",
        )
    siblings = [other for other in PROFILES.values() if other.group == profile.group]
    matching = schema_profiles(crd)
    if len(siblings) > 1 and matching and profile.name not in matching:
        status = _status_schema(crd)
        phases = ", ".join((status.get("phase") or {}).get("enum") or [])
        jobs = "with" if "jobs" in status else "without"
        return failed(
            f"CRD {profile.crd_name} has the schema of profile {matching[0]} (phases {phases}; "
            f"{jobs} status.jobs), not of {profile.name}",
            f"run with --profile {matching[0]} (HARNESS_PROFILE={matching[0]})",
        )
    hints = _crd_era_hints(crd)
    evidence = (
        f"CRD {profile.crd_name} serves {profile.version}: era {profile.era} ({profile.name})"
    )
    if hints:
        return warned(
            f"{evidence}, but it has {', '.join(hints)}: a later release (era C, where AAP "
            "performs the restart) may be installed",
            "expect the restart tests to report era C behaviour (RestartInProgress set False, "
            "not removed); pin the operator to 912735a for profile osac",
        )
    return passed(evidence)


def kubevirt_crds(ctx: DoctorContext) -> Outcome:
    served = ctx.require_kube().served_resources(KUBEVIRT_GROUP, KUBEVIRT_VERSION) or set()
    missing = [plural for plural in (VM_PLURAL, VMI_PLURAL) if plural not in served]
    if missing:
        return failed(
            f"{KUBEVIRT_GROUP}/{KUBEVIRT_VERSION} does not serve {', '.join(missing)}",
            "install KubeVirt (or OpenShift Virtualization) on the cluster that holds the VMs",
        )
    return passed(f"{KUBEVIRT_GROUP}/{KUBEVIRT_VERSION} serves {VM_PLURAL} and {VMI_PLURAL}")


def _why(condition: dict[str, Any]) -> str:
    return str(condition.get("message") or condition.get("reason") or "no reason given")


def kubevirt_ready(ctx: DoctorContext) -> Outcome:
    kube = ctx.require_kube()
    served = kube.served_resources(KUBEVIRT_INSTALL.group, KUBEVIRT_INSTALL.version) or set()
    if KUBEVIRT_INSTALL.plural not in served:
        return warned(
            "no KubeVirt install resource (kubevirts.kubevirt.io) to read readiness from",
            "check virt-operator, virt-controller and virt-handler pods by hand",
        )
    installs, _ = kube.list(KUBEVIRT_INSTALL, None)
    if not installs:
        return failed(
            "no KubeVirt resource exists: KubeVirt is not deployed",
            "create the KubeVirt CR (or the HyperConverged CR on OpenShift Virtualization)",
        )
    problems = []
    for install in installs:
        meta = install["metadata"]
        status = install.get("status") or {}
        available = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "Available"), {}
        )
        if status.get("phase") != "Deployed" or available.get("status") != "True":
            problems.append(
                f"{meta.get('namespace')}/{meta['name']} phase {status.get('phase')!r}, "
                f"Available={available.get('status')!r} ({_why(available)})"
            )
    if problems:
        return failed(
            "KubeVirt not ready: " + "; ".join(problems),
            "wait for virt-operator to finish, or read its conditions and virt-* pod logs",
        )
    names = ", ".join(f"{i['metadata'].get('namespace')}/{i['metadata']['name']}" for i in installs)
    return passed(f"KubeVirt {names}: Deployed, Available")
