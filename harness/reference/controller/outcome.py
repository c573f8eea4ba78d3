"""What one reconcile pass asks of the work queue (controller-runtime's `ctrl.Result`, error)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    requeue_after: float = 0.0
    error: BaseException | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


DONE = Outcome()


def requeue(after: float) -> Outcome:
    return Outcome(requeue_after=after)


class ReconcileError(Exception):
    """A reconcile failure that is not an API error (missing tenant annotation, too many VMs)."""
