"""Keep `kubectl port-forward` to the fulfillment API alive for a whole run.

`kubectl port-forward` ends when its pod goes away or the connection to the API server drops,
which on a long run happens. `PortForward` starts it, learns the local port from its
"Forwarding from 127.0.0.1:PORT -> …" line, and restarts it on the same local port whenever it
exits until `stop()` (backoff 1 s doubling to 10 s). Every start and exit is logged.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
import time
from collections.abc import Callable, Sequence

FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) ->")
MAX_BACKOFF = 10.0


class PortForwardError(RuntimeError):
    """The forward never came up; the message carries kubectl's own words."""


def kubectl_command(
    namespace: str,
    target: str,
    remote_port: int,
    kubeconfig: str | None = None,
    context: str | None = None,
    kubectl: str = "kubectl",
) -> Callable[[int], list[str]]:
    """`kubectl port-forward` of `target` (e.g. svc/fulfillment-api) as a function of the local
    port (0: let kubectl choose)."""

    def command(local_port: int) -> list[str]:
        args = [kubectl, "port-forward", "--address", "127.0.0.1", "-n", namespace]
        if kubeconfig:
            args += ["--kubeconfig", kubeconfig]
        if context:
            args += ["--context", context]
        local = str(local_port) if local_port else ""
        return [*args, target, f"{local}:{remote_port}"]

    return command


class PortForward:
    def __init__(
        self,
        command: Callable[[int], Sequence[str]],
        log: Callable[[str], None],
        ready_timeout: float = 30.0,
    ) -> None:
        self.command = command
        self.log = log
        self.ready_timeout = ready_timeout
        self.local_port = 0
        self.restarts = 0
        self._process: subprocess.Popen[str] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._restarted = threading.Condition(self._lock)
        self._supervisor: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.local_port}"

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None

    def start(self) -> str:
        """Start the forward and its supervisor; returns the local address."""
        self._launch()
        self._supervisor = threading.Thread(
            target=self._supervise, name="port-forward", daemon=True
        )
        self._supervisor.start()
        return self.address

    def _launch(self) -> None:
        argv = list(self.command(self.local_port))
        try:
            process = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        except OSError as error:
            raise PortForwardError(f"cannot run {argv[0]}: {error.strerror or error}") from None
        port, seen = self._await_forwarding(process)
        if port is None:
            with contextlib.suppress(OSError):
                process.kill()
            process.wait()
            said = " / ".join(line.strip() for line in seen[-3:] if line.strip()) or "nothing"
            raise PortForwardError(f"{' '.join(argv[:3])} … did not start forwarding: {said}")
        with self._lock:
            self._process = process
            self.local_port = port
        threading.Thread(target=self._drain, args=(process,), daemon=True).start()
        self.log(f"port-forward: 127.0.0.1:{port} (pid {process.pid})")

    def _await_forwarding(self, process: subprocess.Popen[str]) -> tuple[int | None, list[str]]:
        """Read kubectl's output until the forwarding line, its exit, or the timeout."""
        assert process.stdout is not None
        found: list[int] = []
        seen: list[str] = []

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                seen.append(line)
                match = FORWARDING.search(line)
                if match:
                    found.append(int(match.group(1)))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(self.ready_timeout)
        return (found[0] if found else None), seen

    @staticmethod
    def _drain(process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        with contextlib.suppress(ValueError, OSError):
            for _ in process.stdout:
                pass

    def _supervise(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            started = time.monotonic()
            code = process.wait()
            if self._stopping.is_set():
                return
            # One that ran a while restarts at once; one that keeps dying backs off.
            backoff = 0.0 if time.monotonic() - started > MAX_BACKOFF else max(1.0, backoff * 2)
            backoff = min(backoff, MAX_BACKOFF)
            self.log(f"port-forward: exited with code {code}; restarting on port {self.local_port}")
            if self._stopping.wait(backoff):
                return
            if not self._relaunch():
                return

    def _relaunch(self) -> bool:
        """Start again on the same local port until it works; False when stopped first."""
        delay = 1.0
        while not self._stopping.is_set():
            try:
                self._launch()
            except PortForwardError as error:
                self.log(f"port-forward: {error}; retrying in {delay:.0f} s")
                if self._stopping.wait(delay):
                    return False
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            if self._stopping.is_set():  # stop() came while this one started
                _terminate(self._process)
                return False
            with self._restarted:
                self.restarts += 1
                self._restarted.notify_all()
            return True
        return False

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            process = self._process
        _terminate(process)
        if self._supervisor is not None:
            self._supervisor.join(10)

    def wait_restarted(self, count: int, timeout: float) -> bool:
        """Block until the forward has been restarted `count` times (or the timeout)."""
        with self._restarted:
            return self._restarted.wait_for(lambda: self.restarts >= count, timeout)


def _terminate(process: subprocess.Popen[str] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
