"""API servers started with `--fault` specs, and official clients that never retry on their own
(so every injected fault reaches the test and can be counted)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config

from harness.reference.apiserver.testing import RunningApiServer, start_apiserver

from .helpers import CRD_DIR

USERS = {"harness": "system:serviceaccount:harness:e2e", "alice": "alice"}
VMIS = "virtualmachineinstances"


class FaultyServer:
    """One server with faults; `client(who)` per identity (harness is the kubeconfig's)."""

    def __init__(self, server: RunningApiServer) -> None:
        self.server = server
        self._clients: dict[str, client.ApiClient] = {}

    def api(self, who: str = "harness") -> client.ApiClient:
        if who not in self._clients:
            path = self.server.kubeconfig_for(f"token-{who}", who)
            configuration = client.Configuration()
            config.load_kube_config(config_file=str(path), client_configuration=configuration)
            configuration.retries = False  # urllib3 would retry resets of reads on its own
            self._clients[who] = client.ApiClient(configuration)
        return self._clients[who]

    def core(self, who: str = "harness") -> client.CoreV1Api:
        return client.CoreV1Api(self.api(who))

    def custom(self, who: str = "harness") -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api(who))

    def mark(self) -> list[dict[str, Any]]:
        """The request log up to now: a marker request (`/version`, never faulted), then the
        log read until it shows the marker (it is flushed every 0.2 s)."""
        token = uuid.uuid4().hex
        pool = urllib3.PoolManager(ca_certs=str(self.server.ca_file))
        pool.request("GET", f"{self.server.url}/version?mark={token}")
        path = self.server.request_log
        assert path is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            # Only whole lines: the server may be writing the next one as we read.
            complete = path.read_text().split("\n")[:-1]
            records = [json.loads(line) for line in complete if line]
            if records and records[-1].get("query", {}).get("mark") == token:
                return records[:-1]
            time.sleep(0.05)
        raise AssertionError(f"the request log {path} never showed the marker request")


def start_faulty(
    state: Path, faults: Sequence[str], seed: int = 0, crds: Sequence[Path] = ()
) -> FaultyServer:
    state.mkdir(parents=True, exist_ok=True)
    tokens = state / "tokens.json"
    entries = [{"token": f"token-{who}", "user": user} for who, user in USERS.items()]
    tokens.write_text(json.dumps({"tokens": entries}))
    args = [arg for spec in faults for arg in ("--fault", spec)]
    return FaultyServer(
        start_apiserver(
            state,
            crds=crds,
            tokens=tokens,
            request_log=state / "requests.jsonl",
            extra_args=[*args, "--fault-seed", str(seed)],
        )
    )


def kubevirt_crds() -> list[Path]:
    return [CRD_DIR / "kubevirt.io_virtualmachines.yaml", CRD_DIR / f"kubevirt.io_{VMIS}.yaml"]


DROPPED = "dropped"


def outcome(call: Callable[..., Any], *args: Any) -> int | str:
    """HTTP status of one call: 200 for success, the code of an ApiException, or `DROPPED` when
    the connection was closed without an answer. Over TLS a reset reaches the client as
    ConnectionResetError, an unexpected EOF of the TLS stream, or a response cut short,
    depending on what the client was doing when it came."""
    try:
        call(*args)
    except client.ApiException as error:
        if error.status == 0:  # the official client's transport errors (an SSLError here)
            return DROPPED
        return int(error.status)
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.SSLError):
        return DROPPED
    return 200


def outcomes(call: Callable[[], Any], times: int) -> Iterator[int | str]:
    """HTTP status of each of `times` calls: 200 for success, the code of an ApiException, or
    the exception's class name for transport errors."""
    for _ in range(times):
        try:
            call()
        except client.ApiException as error:
            yield int(error.status)
        except Exception as error:
            yield type(error).__name__
        else:
            yield 200
