"""Contract findings: hazards the contract itself documents, seen in a run — reported, not failed.

A suite calls `report_finding`; the plugin's terminal summary lists every finding of the run.
"""

from __future__ import annotations

import warnings


class ContractFinding(UserWarning):
    """A documented hazard of the contract showed up (reported in the run summary, not failed)."""


def report_finding(message: str) -> None:
    warnings.warn(ContractFinding(message), stacklevel=2)
