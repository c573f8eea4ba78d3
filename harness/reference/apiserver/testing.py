"""Start the API server as a child process for tests and benchmarks, and write a kubeconfig.

    with run_apiserver(tmp_path, crds=[...]) as server:
        kubernetes.config.load_kube_config(str(server.kubeconfig))

The server is a real subprocess on a real socket (`ComponentProcess`), stopped by PID. It serves
HTTPS with a CA of its own, which every kubeconfig written here trusts
(`certificate-authority-data`; `ca_file` holds it too). Without a `tokens` file, the server gets
one naming a single administrator (`ADMIN_USER` in `system:masters`) whose token, `token` or a
new one, is the kubeconfig's; with a `tokens` file, `token` is the kubeconfig's (None: anonymous).
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.reference.process import ComponentProcess

MODULE = "harness.reference.apiserver"
ADMIN_USER = "harness-admin"
ADMIN_GROUPS = ("system:masters",)


@dataclass
class RunningApiServer:
    url: str
    port: int
    kubeconfig: Path
    log_path: Path
    process: ComponentProcess
    state_dir: Path
    request_log: Path | None = None
    token: str | None = None
    ca_data: str | None = None  # base64 PEM, as a kubeconfig's certificate-authority-data
    extra_kubeconfigs: dict[str, Path] = field(default_factory=dict)

    @property
    def ca_file(self) -> Path | None:
        """The server's CA as a PEM file (for urllib, curl), or None when it is not known."""
        if self.ca_data is None:
            return None
        path = self.state_dir / "apiserver-ca.crt"
        if not path.exists():
            path.write_bytes(base64.b64decode(self.ca_data))
        return path

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def stop(self) -> None:
        self.process.stop()

    def kubeconfig_for(self, token: str | None, name: str) -> Path:
        """Another kubeconfig for the same server, authenticating with `token`."""
        path = self.state_dir / f"{name}.kubeconfig"
        write_kubeconfig(path, self.url, token=token, ca_data=self.ca_data)
        self.extra_kubeconfigs[name] = path
        return path


def write_kubeconfig(
    path: Path,
    url: str,
    token: str | None = None,
    namespace: str = "default",
    ca_data: str | None = None,
) -> Path:
    """A kubeconfig (JSON is valid YAML) pointing at `url`, trusting `ca_data` (base64 PEM)."""
    user: dict[str, str] = {"token": token} if token else {}
    cluster = {"server": url}
    if ca_data:
        cluster["certificate-authority-data"] = ca_data
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "embedded", "cluster": cluster}],
        "users": [{"name": "harness", "user": user}],
        "contexts": [
            {
                "name": "embedded",
                "context": {"cluster": "embedded", "user": "harness", "namespace": namespace},
            }
        ],
        "current-context": "embedded",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    return path


def start_apiserver(
    state_dir: Path,
    *,
    crds: Sequence[Path] = (),
    seeds: Sequence[Path] = (),
    tokens: Path | None = None,
    request_log: Path | None = None,
    token: str | None = None,
    extra_args: Sequence[str] = (),
    timeout: float = 20.0,
) -> RunningApiServer:
    """Start the server and wait for its READY line; the caller must `stop()` it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    args: list[str] = ["--port", "0"]
    for path in crds:
        args += ["--crd", str(path)]
    for path in seeds:
        args += ["--seed", str(path)]
    if tokens is None:
        token = token or secrets.token_hex(24)
        tokens = write_admin_tokens(state_dir / "tokens.json", token)
    args += ["--tokens", str(tokens)]
    if request_log is not None:
        args += ["--request-log", str(request_log)]
    args += list(extra_args)
    process = ComponentProcess("apiserver", MODULE, args, state_dir / "apiserver.log")
    process.start()
    try:
        info = process.wait_ready(timeout)
    except BaseException:
        process.stop()
        raise
    ca_data = info.get("certificate_authority_data")
    kubeconfig = write_kubeconfig(state_dir / "kubeconfig", info["url"], token, ca_data=ca_data)
    return RunningApiServer(
        url=info["url"],
        port=info["port"],
        kubeconfig=kubeconfig,
        log_path=process.log_path,
        process=process,
        state_dir=state_dir,
        request_log=request_log,
        token=token,
        ca_data=ca_data,
    )


def write_admin_tokens(path: Path, token: str) -> Path:
    """A `--tokens` file naming one administrator (its uid is its name, as the real control
    plane's token file has it)."""
    entry = {"token": token, "user": ADMIN_USER, "groups": list(ADMIN_GROUPS), "uid": ADMIN_USER}
    path.write_text(json.dumps({"tokens": [entry]}))
    path.chmod(0o600)
    return path


@contextlib.contextmanager
def run_apiserver(state_dir: Path, **kwargs: object) -> Iterator[RunningApiServer]:
    server = start_apiserver(state_dir, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
