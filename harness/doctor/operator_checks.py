"""Checks of the operator: its Deployment, images, environment names, webhooks, permissions and
its place among the fulfillment API's admins."""

from __future__ import annotations

import re
from typing import Any

from harness.clients import webhooks as webhook
from harness.contract.profiles import (
    KUBEVIRT_GROUP,
    OBSOLETE_VM_ENV_PREFIX,
    OPERATOR_ENVS,
    PROVIDER_AAP,
    PROVIDER_EDA,
    VMI_PLURAL,
)
from harness.doctor.context import AUTHCONFIG, PROJECT_ORGS, PUBLIC_REGISTRIES, DoctorContext
from harness.doctor.model import Outcome, failed, passed, skipped, warned

SUBJECT = re.compile(r"system:serviceaccount:[a-z0-9][a-z0-9.-]*:[a-z0-9][a-z0-9.-]*")


def _missing(ctx: DoctorContext) -> Outcome:
    absent = ctx.require_kube().read_namespace(ctx.operator_namespace) is None
    return failed(
        f"no Deployment {ctx.operator_namespace}/{ctx.operator_name}"
        + (f" (namespace {ctx.operator_namespace} does not exist)" if absent else ""),
        f"install the operator, or name its Deployment with --operator-namespace and "
        f"--operator-deployment (profile {ctx.profile.name} expects "
        f"{ctx.profile.operator_deployment} in {ctx.profile.operator_namespace})",
    )


def deployment_ready(ctx: DoctorContext) -> Outcome:
    deployment = ctx.operator()
    if deployment is None:
        return _missing(ctx)
    wanted = deployment["spec"].get("replicas", 1)
    status = deployment.get("status") or {}
    ready = status.get("readyReplicas") or 0
    available = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Available"), {}
    )
    where = f"{ctx.operator_namespace}/{ctx.operator_name}"
    if wanted == 0:
        return failed(
            f"{where} is scaled to 0 replicas",
            f"kubectl -n {ctx.operator_namespace} scale deployment {ctx.operator_name} "
            "--replicas=1",
        )
    if ready < wanted or available.get("status") != "True":
        return failed(
            f"{where}: {ready}/{wanted} replicas ready, Available={available.get('status')!r} "
            f"({available.get('message') or available.get('reason') or 'no reason given'})",
            f"kubectl -n {ctx.operator_namespace} describe deployment {ctx.operator_name}; "
            "look at the pod's events (image pull, crash loop) and its log",
        )
    return passed(f"{where}: {ready}/{wanted} replicas ready")


def _image_parts(image: str) -> tuple[str, str, str]:
    """(registry, path, tag or @digest) of an image reference."""
    name, _, digest = image.partition("@")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = "docker.io", name
    tag = ""
    if ":" in path.rsplit("/", 1)[-1]:
        path, tag = path.rsplit(":", 1)
    return registry, path, f"@{digest}" if digest else tag


def images(ctx: DoctorContext) -> Outcome:
    deployment = ctx.operator()
    if deployment is None:
        return _missing(ctx)
    containers = deployment["spec"]["template"]["spec"].get("containers") or []
    listed = [c.get("image", "") for c in containers]
    trusted = (*PROJECT_ORGS, *ctx.options.trusted_orgs)
    personal, mismatched = [], []
    for image in listed:
        registry, path, tag = _image_parts(image)
        org = path.split("/", 1)[0] if "/" in path else ""
        if registry in PUBLIC_REGISTRIES and org and org not in trusted:
            personal.append(f"{image} ({registry}/{org}/ is not a project registry account)")
    manager = ctx.operator_container() or {}
    expected_image, release = ctx.options.expected_image, ctx.options.expected_release
    if expected_image and manager.get("image") != expected_image:
        mismatched.append(f"manager image {manager.get('image')!r}, expected {expected_image!r}")
    if release:
        _, _, tag = _image_parts(manager.get("image", ""))
        if tag.lstrip("v") != release.lstrip("v"):
            mismatched.append(f"manager tag {tag or '(none)'!r}, expected release {release!r}")
    if mismatched:
        return failed(
            "; ".join(mismatched + personal),
            "deploy the expected release's image (kubectl set image … or the chart's image "
            "values), or correct --expected-release/--expected-image",
            # Asked for a release, the run would test another build: not ready.
            blocking=True,
        )
    if personal:
        return warned(
            "custom image from a personal registry: " + "; ".join(personal),
            "results describe that build, not a release: deploy the project's image, or pass "
            "--trusted-org ACCOUNT if this registry account is official",
        )
    return passed("images: " + ", ".join(listed))


def environment_names(ctx: DoctorContext) -> Outcome:
    container = ctx.operator_container()
    if container is None:
        return _missing(ctx)
    env = ctx.operator_env()
    expected = ctx.profile.operator_env
    expected_names = {
        name
        for name in (
            expected.namespace,
            *expected.webhooks,
            expected.provider,
            expected.fulfillment_address,
        )
        if name
    }
    wrong: list[str] = []
    for name in sorted(env):
        if name.startswith(OBSOLETE_VM_ENV_PREFIX):
            wrong.append(f"{name} (pre-ComputeInstance name: ignored, provisioning is disabled)")
            continue
        for other in OPERATOR_ENVS:
            if other is expected:
                continue
            other_names = {
                other.namespace,
                *other.webhooks,
                other.provider,
                other.fulfillment_address,
            }
            if name in other_names and name not in expected_names:
                replacement = _replacement(name, other, expected)
                wrong.append(
                    f"{name} (release {other.release}; this CRD's operator reads {replacement})"
                )
                break
        else:
            if not name.startswith(ctx.profile.env_prefix) and name.startswith(
                ("OSAC_", "CLOUDKIT_")
            ):
                wrong.append(
                    f"{name} (prefix of another era; this one uses {ctx.profile.env_prefix})"
                )
    if wrong:
        return failed(
            "environment names of another release: " + "; ".join(wrong),
            f"rename them to the {expected.release} names (contract §9.6), e.g. "
            f"{', '.join(sorted(expected_names))}",
        )
    ours = sorted(name for name in env if name in expected_names)
    return passed(f"{len(env)} variables; era names as expected ({', '.join(ours) or 'defaults'})")


def _replacement(name: str, other: Any, expected: Any) -> str:
    for field in (
        "namespace",
        "provision_webhook",
        "deprovision_webhook",
        "provider",
        "fulfillment_address",
    ):
        if getattr(other, field) == name:
            return getattr(expected, field) or "nothing"
    return "other names"


def webhooks(ctx: DoctorContext) -> Outcome:
    container = ctx.operator_container()
    if container is None:
        return _missing(ctx)
    env = ctx.operator_env()
    names = [n for era in OPERATOR_ENVS for n in era.webhooks] + [
        n for n in env if n.startswith(OBSOLETE_VM_ENV_PREFIX) and n.endswith("_WEBHOOK")
    ]
    urls = {name: env[name] for name in dict.fromkeys(names) if env.get(name)}
    unreadable = [name for name in dict.fromkeys(names) if name in env and env[name] is None]
    if not urls:
        provider_name = ctx.profile.operator_env.provider
        provider = (env.get(provider_name) if provider_name else None) or PROVIDER_EDA
        if ctx.profile.records_jobs and provider == PROVIDER_AAP:
            return skipped(f"{provider_name}=aap: provisioning uses AAP, no webhooks")
        detail = f" ({', '.join(unreadable)} come from a Secret or ConfigMap)" if unreadable else ""
        return failed(
            f"no webhook URL set{detail}: the operator cannot provision",
            f"set {' and '.join(ctx.profile.operator_env.webhooks)} to the EDA endpoints, e.g. "
            "http://<eda-service>:5000/create-compute-instance and …/delete-compute-instance",
        )
    problems, notes, fixes = [], [], []
    for name, url in urls.items():
        answer = webhook.post(str(url), ctx.options.webhook_timeout)
        if answer.status is not None and answer.status not in (404, 405) and answer.status < 500:
            notes.append(f"{name} {url} answers POST with {answer.status}")
        elif answer.status == 405:
            problems.append(f"{name} {url} answers POST with 405 Method Not Allowed")
            fixes.append(
                f"{url} is not the webhook endpoint: EDA's are /create-compute-instance and "
                "/delete-compute-instance (an old /create-vm path answers 405)"
            )
        elif answer.status == 404:
            problems.append(f"{name} {url} answers POST with 404 Not Found")
            fixes.append(
                "no endpoint at that path: use the rulebook's /create-compute-instance or "
                "/delete-compute-instance"
            )
        elif answer.status is not None:
            problems.append(f"{name} {url} answers POST with {answer.status} (server error)")
            fixes.append("read the EDA activation's log")
        elif answer.problem == "refused":
            problems.append(f"{name} {url}: connection refused")
            fixes.append(
                f"nothing listens there: check the EDA service name and port in {name} "
                "(rulebook port 5000) and that the activation runs"
            )
        elif answer.problem == "dns" and webhook.is_cluster_internal(str(url)):
            notes.append(f"{name} {url}: a cluster-internal name, not resolvable from here")
        else:
            problems.append(f"{name} {url}: {answer.detail}")
            fixes.append(f"make {url} reachable from the operator's pod")
    if problems:
        return failed("; ".join(problems + notes), "; ".join(dict.fromkeys(fixes)))
    if any("not resolvable from here" in note for note in notes):
        return warned(
            "; ".join(notes), "run the doctor inside the cluster (jobs/) to probe those URLs"
        )
    return passed("; ".join(notes))


def vmi_delete(ctx: DoctorContext) -> Outcome:
    user = ctx.operator_user()
    if user is None:
        return _missing(ctx)
    namespace = ctx.settings.tenant or ""
    allowed, reason = ctx.require_kube().access_review(
        "delete", KUBEVIRT_GROUP, VMI_PLURAL, namespace, user=user
    )
    where = f"in {namespace}" if namespace else "in all namespaces"
    if not allowed:
        return failed(
            f"{user} may not delete {VMI_PLURAL}.{KUBEVIRT_GROUP} {where}"
            # kube-apiserver's RBAC gives no reason for a plain denial.
            + (f" ({reason})" if reason else "")
            + ": every restart would end in RestartFailed/VMIDeletionFailed",
            f"grant delete on {VMI_PLURAL} (kubevirt.io) to {user} in the operator's ClusterRole "
            "(the generated role lacked it until osac-operator 86d726b)",
        )
    return passed(f"{user} may delete {VMI_PLURAL} {where} (SubjectAccessReview)")


def _subjects(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(SUBJECT.findall(value))
    if isinstance(value, dict):
        return set().union(*(_subjects(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_subjects(v) for v in value)) if value else set()
    return set()


def api_admin(ctx: DoctorContext) -> Outcome:
    kube = ctx.require_kube()
    served = kube.served_resources(AUTHCONFIG.group, AUTHCONFIG.version) or set()
    if AUTHCONFIG.plural not in served:
        return skipped("no Authorino AuthConfig resource: the API authorises another way")
    configs, _ = kube.list(AUTHCONFIG, None)
    configs = [c for c in configs if c["metadata"]["name"].startswith("fulfillment")]
    if not configs:
        return skipped("no fulfillment AuthConfig found")
    user = ctx.operator_user()
    if user is None:
        return _missing(ctx)
    lacking = []
    for config in configs:
        subjects = _subjects(config.get("spec") or {})
        if user not in subjects:
            meta = config["metadata"]
            lacking.append(
                f"{meta.get('namespace')}/{meta['name']} "
                f"(admins: {', '.join(sorted(subjects)) or 'none'})"
            )
    if lacking:
        return failed(
            f"{user} is not among the admin subjects of AuthConfig {'; '.join(lacking)}: the "
            "operator's feedback calls to the private API are denied",
            f"add {user} to the admin list of the fulfillment AuthConfig (the dev overlay adds "
            "…:cloudkit-operator-controller-manager)",
        )
    return passed(
        f"{user} is an admin subject of {', '.join(c['metadata']['name'] for c in configs)}"
    )
