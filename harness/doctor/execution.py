"""Run the checks in order; a check whose premise failed is skipped, one that crashes fails."""

from __future__ import annotations

from collections.abc import Iterable

from harness.clients.resources import Forbidden
from harness.doctor.context import DoctorContext
from harness.doctor.model import FAIL, SKIP, Check, Finding


def run_checks(ctx: DoctorContext, checks: Iterable[Check]) -> list[Finding]:
    findings: dict[str, Finding] = {}
    for check in checks:
        unmet = [
            need
            for need in check.needs
            if findings.get(need) is None or findings[need].verdict in (FAIL, SKIP)
        ]
        if unmet:
            findings[check.id] = Finding(
                check.id, SKIP, f"needs {', '.join(unmet)}", blocking=check.blocking
            )
            continue
        try:
            outcome = check.run(ctx)
        except Forbidden as error:
            findings[check.id] = Finding(
                check.id,
                FAIL,
                f"the API server refused a read this check needs: {error}",
                "grant the harness's identity that permission (jobs/base/rbac-*.yaml are the "
                "rules the harness and this doctor need)",
                blocking=check.blocking,
            )
            continue
        except Exception as error:
            findings[check.id] = Finding(
                check.id,
                FAIL,
                f"the check could not finish: {type(error).__name__}: {_first_line(error)}",
                "see the evidence; if it is a harness bug, report it with this output",
                blocking=check.blocking,
            )
            continue
        blocking = check.blocking if outcome.blocking is None else outcome.blocking
        findings[check.id] = Finding(
            check.id, outcome.verdict, outcome.evidence, outcome.fix, blocking
        )
    return list(findings.values())


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""
