"""Whether the fulfillment API and the cluster describe the same instances: each instance the
API lists is a ComputeInstance CR of the profile's era in the hub namespace the suites watch
(the CR's uuid label carries the instance's id). Otherwise the suites create through one and
wait on the other, and every test fails with "no ComputeInstance seen"."""

from __future__ import annotations

from harness.clients.fulfillment_api import ApiError, FulfillmentClient
from harness.clients.resources import instance_resource
from harness.contract.profiles import PROFILES, Profile
from harness.doctor.context import DoctorContext
from harness.doctor.model import Outcome, failed, passed, skipped, warned

# Instances compared: enough to tell a namespace or era mismatch, one page of the API's List.
SAMPLE = 20


def _ids_in(ctx: DoctorContext, profile: Profile, namespace: str | None) -> dict[str, str]:
    """Instance id → namespace of the `profile`-era CRs carrying its uuid label."""
    items, _ = ctx.require_kube().list(
        instance_resource(profile), namespace, label_selector=profile.uuid_label
    )
    return {
        item["metadata"]["labels"][profile.uuid_label]: item["metadata"].get("namespace", "")
        for item in items
    }


def _elsewhere(ctx: DoctorContext, ids: set[str]) -> dict[str, tuple[Profile, str]]:
    """Where the CRs of `ids` are, searched in every namespace and era we may list."""
    kube = ctx.require_kube()
    found: dict[str, tuple[Profile, str]] = {}
    for profile in (ctx.profile, *(p for p in PROFILES.values() if p is not ctx.profile)):
        served = kube.served_resources(profile.group, profile.version) or set()
        if profile.plural not in served:
            continue
        allowed, _ = kube.access_review("list", profile.group, profile.plural)
        if not allowed:
            continue
        for instance_id, namespace in _ids_in(ctx, profile, None).items():
            if instance_id in ids:
                found.setdefault(instance_id, (profile, namespace))
    return found


def api_agrees(ctx: DoctorContext) -> Outcome:
    settings = ctx.settings
    if settings.via == "cr":
        return skipped("--via cr: the suites do not use the fulfillment API")
    client = FulfillmentClient(settings)
    try:
        listed, total = client.list_first(SAMPLE)
    except ApiError as error:
        return failed(
            f"the fulfillment API's List failed: {error.code}: {error.details}",
            "read the fulfillment API's log",
        )
    finally:
        client.close()
    if not listed:
        return passed("the fulfillment API lists no instance: nothing to compare yet")
    ids = {instance.id for instance in listed}
    hub = settings.namespace
    here = ids & set(_ids_in(ctx, ctx.profile, hub))
    what = f"the {len(ids)} instances the fulfillment API lists" + (
        f" first (of {total})" if total > len(ids) else ""
    )
    if here == ids:
        return passed(f"{what} are {ctx.profile.crd_name} CRs in {hub}")
    missing = sorted(ids - here)
    located = _elsewhere(ctx, set(missing))
    places = sorted({(p.name, p.crd_name, ns) for p, ns in located.values()})
    where = "; ".join(f"{crd} in {ns}" for _, crd, ns in places)
    evidence = (
        f"{len(missing)} of {what} (e.g. {missing[0]}) have no {ctx.profile.crd_name} CR in "
        f"{hub}" + (f"; their CRs are {where}" if where else "")
    )
    if here:
        return warned(
            evidence + " (being created or deleted, or another hub's)",
            "if this persists, compare the fulfillment API's hub namespace with --namespace",
        )
    if places:
        name, _, namespace = places[0]
        flags = ([f"--profile {name}"] if name != ctx.profile.name else []) + (
            [f"--namespace {namespace}"] if namespace != hub else []
        )
        fix = f"run with {' '.join(flags)}: that is where the fulfillment API keeps its instances"
    else:
        fix = (
            "is --api-address the fulfillment API of the cluster in the kubeconfig? none of "
            "its instances is a CR in any namespace we may list"
        )
    return failed(evidence, fix)
