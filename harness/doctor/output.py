"""The doctor's output: a table for people, JSON for machines."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Sequence

from harness.doctor.model import PASS, Finding


def _wrap(text: str, width: int) -> list[str]:
    # Names stay whole (osac-computeinstance, a URL), so a line can be searched for them.
    return textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)


def table(findings: Sequence[Finding]) -> str:
    width = max(60, min(shutil.get_terminal_size((120, 20)).columns, 160))
    id_width = max(len(f.id) for f in findings) if findings else 10
    indent = " " * (id_width + 11)
    lines = [f"{'CHECK'.ljust(id_width)}  VERDICT  EVIDENCE"]
    for finding in findings:
        verdict = finding.verdict.upper() + ("" if finding.blocking else "*")
        text = _wrap(finding.evidence, width - len(indent)) or [""]
        lines.append(f"{finding.id.ljust(id_width)}  {verdict.ljust(7)}  {text[0]}")
        lines.extend(indent + line for line in text[1:])
        if finding.fix and finding.verdict != PASS:
            fix = _wrap("fix: " + finding.fix, width - len(indent))
            lines.extend(indent + line for line in fix)
    blocking = [f.id for f in findings if f.blocks]
    lines.append("")
    lines.append("* not blocking")
    lines.append(
        f"environment NOT READY: {', '.join(blocking)} failed" if blocking else "environment ready"
    )
    return "\n".join(lines) + "\n"


def as_json(findings: Sequence[Finding]) -> str:
    return (
        json.dumps(
            {
                "ready": not any(f.blocks for f in findings),
                "checks": [f.to_json() for f in findings],
            },
            indent=2,
        )
        + "\n"
    )
