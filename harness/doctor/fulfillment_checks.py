"""Checks of the fulfillment API: reachable with the TLS settings given, token accepted, and
private methods allowed to the admin token."""

from __future__ import annotations

from dataclasses import replace

from harness.clients.fulfillment_api import ApiError, ApiUnusable, FulfillmentClient
from harness.doctor.context import DoctorContext
from harness.doctor.model import Outcome, failed, passed, skipped, warned


def _tls(ctx: DoctorContext) -> str:
    tls = ctx.settings.api_tls
    if tls.plaintext:
        return "plaintext"
    if tls.insecure:
        return "TLS, certificate not verified"
    return f"TLS verified with {tls.ca_file}" if tls.ca_file else "TLS verified with system CAs"


def reachable(ctx: DoctorContext) -> Outcome:
    settings = ctx.settings
    if settings.via == "cr":
        return skipped("--via cr: the suites do not use the fulfillment API")
    if not settings.api_address:
        return failed("no fulfillment API address", "pass --api-address (HARNESS_API_ADDRESS)")
    client = None
    try:
        client = FulfillmentClient(settings)
        client.check_usable()
    except ApiUnusable as error:
        text = str(error)
        if "rejected the token" in text:
            fix = "give a current token: --api-token/--api-token-file (kubectl create token <sa>)"
        elif "does not serve" in text:
            fix = "use the --profile of the API's era"
        elif "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
            fix = "trust the API's CA with --api-ca, or skip verification with --api-insecure"
        elif "unreachable" not in text:
            fix = "the API answered with an error: read the fulfillment API's log"
        else:
            fix = (
                "check --api-address and the port-forward (kubectl port-forward "
                "svc/fulfillment-api 8000:8000), and TLS: the API speaks TLS even through a "
                "port-forward"
            )
        return failed(text, fix)
    finally:
        if client is not None:
            client.close()
    return passed(
        f"{settings.api_address} ({_tls(ctx)}): {settings.profile.grpc.public_service}/List "
        "accepted the token"
    )


def private_methods(ctx: DoctorContext) -> Outcome:
    settings = ctx.settings
    if settings.via == "cr":
        return skipped("--via cr: the suites do not use the fulfillment API")
    token = settings.admin_token or settings.api_token
    which = "the admin token" if settings.admin_token else "the API token"
    client = None
    try:
        client = FulfillmentClient(replace(settings, api_token=token))
        client.check_private()
    except ApiError as error:
        if error.code == "PERMISSION_DENIED" and not settings.admin_token:
            return warned(
                f"{which} may not call {settings.profile.grpc.private_service} "
                f"({error.details}); the suites need only public methods",
                "to inspect the private record, pass --admin-token of an admin subject",
            )
        return failed(
            f"{settings.profile.grpc.private_service}/List with {which}: {error.code}: "
            f"{error.details}",
            "use a token of an admin subject (system:serviceaccount:<ns>:admin), or add its "
            "subject to the API's admins",
        )
    except ApiUnusable as error:
        return failed(str(error), "see api.reachable")
    finally:
        if client is not None:
            client.close()
    return passed(f"{which} may call {settings.profile.grpc.private_service} methods")
