"""POST to a webhook URL the way the operator does, and say what answered (stdlib HTTP only)."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

# What the operator sends: the ComputeInstance as JSON. The probe sends an empty object marked as
# a probe, which an EDA event stream accepts and a rulebook ignores (no rule matches it).
PROBE_BODY = json.dumps({"harness_doctor_probe": True}).encode()


@dataclass(frozen=True)
class Answer:
    status: int | None  # HTTP status, None when nothing answered
    problem: str = ""  # "refused", "dns", "timeout", "tls", "other" when status is None
    detail: str = ""


def post(url: str, timeout: float) -> Answer:
    request = urllib.request.Request(
        url, data=PROBE_BODY, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status)
    except urllib.error.HTTPError as error:
        return Answer(error.code, detail=error.reason or "")
    except urllib.error.URLError as error:
        return _classify(error.reason)
    except (TimeoutError, OSError) as error:
        return _classify(error)


def _classify(reason: object) -> Answer:
    if isinstance(reason, ConnectionRefusedError):
        return Answer(None, "refused", "connection refused")
    if isinstance(reason, socket.gaierror):
        return Answer(None, "dns", "host name not found")
    if isinstance(reason, TimeoutError | socket.timeout):
        return Answer(None, "timeout", "no answer in time")
    return Answer(None, "other", str(reason))


def is_cluster_internal(url: str) -> bool:
    """A Service name (`svc`, `svc.cluster.local` or a single label): resolvable only inside."""
    host = urllib.parse.urlsplit(url).hostname or ""
    return "." not in host or host.endswith((".svc", ".svc.cluster.local"))
