"""Ansible's observable behaviour, enough to replay the OSAC peer roles step by step.

A peer role is a list of `shell`/`command` tasks (kubectl `--as system:admin`, jsonpath and jq
reads, grpcurl), `until` polls with `retries` and `delay`, fixed pauses and assertions. `Play`
runs each task's command text as the role writes it, in bash (the shell module's `/bin/sh` is
bash where the peers run, and their `set -o pipefail` needs it), against one stack: `KUBECONFIG`
is the stack's, `grpcurl` the harness's build. A task fails as Ansible's would: a non-zero exit
(unless `failed_when` says otherwise), or an `until` still false after its last attempt.

What cannot run offline is replaced by the call it makes, named where it happens: the
`fulfillment-cli` create and delete become grpcurl `Create` and `Delete` of the same public
service.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COMMAND_TIMEOUT = 60.0


class TaskFailed(AssertionError):
    """A replayed task failed the way it fails under Ansible; the message names the task."""


@dataclass(frozen=True)
class Result:
    rc: int
    stdout: str
    stderr: str

    @property
    def stdout_lines(self) -> list[str]:
        return self.stdout.splitlines()


@dataclass
class Play:
    """One stack, seen as the peers see a cluster."""

    kubeconfig: Path
    grpcurl_path: Path
    address: str  # the fulfillment API, host:port (TLS)
    token: str
    log: list[str] = field(default_factory=list)

    def shell(self, name: str, command: str, failed_when: Callable[[Result], bool] | None = None):
        """One `ansible.builtin.shell` (or `command`) task; returns the registered result."""
        result = self._run(command)
        self.log.append(f"{name}: rc={result.rc} stdout={result.stdout.strip()[:200]!r}")
        failed = failed_when(result) if failed_when else result.rc != 0
        if failed:
            raise TaskFailed(f"task {name!r} failed: rc={result.rc} {result.stderr.strip()[-500:]}")
        return result

    def until(
        self,
        name: str,
        command: str,
        condition: Callable[[Result], bool],
        retries: int,
        delay: float,
        failed_when: Callable[[Result], bool] | None = None,
    ) -> Result:
        """A task with `until`, `retries` and `delay`: up to `retries + 1` runs, `delay` apart;
        out of attempts it fails, whatever `failed_when` says (Ansible's task executor)."""
        for attempt in range(retries + 1):
            result = self._run(command)
            if condition(result):
                self.log.append(f"{name}: attempt {attempt + 1}: {result.stdout.strip()[:200]!r}")
                failed = failed_when(result) if failed_when else result.rc != 0
                if failed:
                    raise TaskFailed(f"task {name!r} failed: rc={result.rc} {result.stderr}")
                return result
            if attempt < retries:
                time.sleep(delay)
        raise TaskFailed(
            f"task {name!r}: condition still false after {retries + 1} attempts "
            f"({delay:g} s apart); last rc={result.rc} stdout={result.stdout.strip()[-300:]!r} "
            f"stderr={result.stderr.strip()[-300:]!r}"
        )

    def pause(self, seconds: float) -> None:
        """`ansible.builtin.pause`."""
        time.sleep(seconds)

    def grpcurl(self, method: str, body: dict[str, Any] | None = None) -> str:
        """`grpcurl -insecure -H "Authorization: Bearer …" [-d BODY] ADDRESS METHOD`, as the
        peers call the fulfillment API (TLS, nothing verified)."""
        data = f" -d {_quote(json.dumps(body))}" if body is not None else ""
        return self.shell(
            f"grpcurl {method}",
            f'grpcurl -insecure -H "Authorization: Bearer {self.token}"{data} '
            f"{self.address} {method}",
        ).stdout

    def _run(self, command: str) -> Result:
        env = dict(os.environ, KUBECONFIG=str(self.kubeconfig))
        env["PATH"] = f"{self.grpcurl_path.parent}{os.pathsep}{env.get('PATH', '')}"
        completed = subprocess.run(
            ["bash", "-c", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        # The command module hands back stdout and stderr without their trailing newlines.
        return Result(
            completed.returncode, completed.stdout.rstrip("\r\n"), completed.stderr.rstrip("\r\n")
        )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def assert_that(name: str, *conditions: bool, why: str = "") -> None:
    """`ansible.builtin.assert` with `that:` conditions."""
    if not all(conditions):
        raise TaskFailed(f"assertion {name!r} failed{': ' + why if why else ''}")
