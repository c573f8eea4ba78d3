"""Names of the restart latency phases, in the order a restart goes through them.

Each phase ends at its milestone and starts at the previous milestone that was seen;
`total` runs from the acknowledged request to the conditions cleared. Kept free of imports so
the settings can validate `--max-phase-seconds NAME=S` against it.
"""

from __future__ import annotations

MILESTONES: tuple[str, ...] = (
    "acknowledged",  # the first watched CR state that carries the request
    "in_progress",  # RestartInProgress=True
    "old_vmi_deleting",  # the VMI that ran before has a deletionTimestamp
    "old_vmi_gone",  # ... and is deleted
    "new_vmi_created",  # a VMI with a new UID appears
    "new_vmi_running",  # ... and is Running
    "last_restarted_at",  # status.lastRestartedAt == the request
    "conditions_cleared",  # RestartInProgress and RestartFailed no longer True
)

TOTAL = "total"
PHASES: tuple[str, ...] = (*MILESTONES[1:], TOTAL)
