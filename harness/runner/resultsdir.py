"""A fresh results directory for each run, without ever deleting a user's files.

A directory is ours when it carries the layout's marker file; only then are the entries the
layout defines replaced. A non-empty directory without the marker, or one holding anything the
layout does not define, is refused. The previous layout is set aside (`.previous-run/`), not
deleted, until the new run has started for real: a run whose arguments pytest refuses puts it
back (`restore_previous`), any other run drops it (`discard_previous`). Whoever prepares the
directory holds it (`harness.ownership.hold`) for as long as it writes there.

A run's preflight (`harness doctor` before `harness run`, as run-local.sh --target cluster does)
starts the layout itself: its marker says so, and the run that follows keeps what the preflight
wrote (doctor.json) instead of replacing it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.filewrites import is_disk_trouble
from harness.ownership import LOCK_NAME
from harness.results import ResultsLayout


class ResultsDirError(ValueError):
    """The directory cannot be used; the message is one line saying why and what to do."""


RUN_MARK = "a harness results layout; the next run replaces it\n"
PREVIOUS = ".previous-run"
# Ours, whatever the layout: the lock, and the previous layout set aside.
_BOOKKEEPING = {LOCK_NAME, PREVIOUS}
PREFLIGHT_MARK = "a harness results layout begun by the preflight; the run keeps doctor.json\n"


def prepare_results_dir(root: Path, preflight: bool = False) -> ResultsLayout:
    """Create `root` or replace the previous layout in it; then mark it as a layout.

    `preflight`: the doctor starts the layout of the run that follows it."""
    layout = check_results_dir(root)
    if root.is_dir():
        _set_aside_previous_layout(layout, keep_preflight=not preflight)
    try:
        root.mkdir(parents=True, exist_ok=True)
        layout.marker.write_text(PREFLIGHT_MARK if preflight else RUN_MARK)
    except OSError as error:
        if is_disk_trouble(error):
            raise  # the disk's doing (full, read-only), not the directory's: exit 20
        raise ResultsDirError(f"cannot write results dir {root}: {error.strerror}") from None
    return layout


def check_results_dir(root: Path) -> ResultsLayout:
    """Refuse a directory a run may not use, before anything is created or moved in it."""
    layout = ResultsLayout(root)
    if root.exists() and not root.is_dir():
        raise ResultsDirError(f"results dir {root} exists and is not a directory")
    if root.is_dir():
        _entries(layout)
    return layout


def restore_previous(layout: ResultsLayout) -> bool:
    """Put back the layout set aside by `prepare_results_dir` in place of the new one; False
    when there was none."""
    previous = layout.root / PREVIOUS
    if not previous.is_dir():
        return False
    for entry in layout.root.iterdir():
        if entry.name not in _BOOKKEEPING:
            _remove(entry)
    for entry in previous.iterdir():
        entry.rename(layout.root / entry.name)
    previous.rmdir()
    return True


def discard_previous(layout: ResultsLayout) -> None:
    previous = layout.root / PREVIOUS
    if previous.is_dir():
        shutil.rmtree(previous)


def is_results_layout(root: Path) -> bool:
    return ResultsLayout(root).marker.is_file()


def _begun_by_preflight(layout: ResultsLayout, entries: list[Path]) -> bool:
    try:
        mark = layout.marker.read_text()
    except OSError:
        return False
    preflight_names = {layout.marker.name, layout.doctor.name}
    return mark == PREFLIGHT_MARK and all(entry.name in preflight_names for entry in entries)


def _entries(layout: ResultsLayout) -> list[Path]:
    """The directory's entries a run would replace; ResultsDirError if any is not ours."""
    entries = sorted(e for e in layout.root.iterdir() if e.name not in _BOOKKEEPING)
    if not entries:
        return []
    if not layout.marker.is_file():
        raise ResultsDirError(
            f"results dir {layout.root} is not empty and holds no harness results "
            f"(found {entries[0].name}); choose a new or empty directory"
        )
    owned = layout.owned_names() | {layout.marker.name}
    foreign = [entry.name for entry in entries if entry.name not in owned]
    if foreign:
        raise ResultsDirError(
            f"results dir {layout.root} holds {', '.join(foreign[:3])}, which a harness run "
            "did not write; move it away or choose another directory"
        )
    return entries


def _set_aside_previous_layout(layout: ResultsLayout, keep_preflight: bool) -> None:
    entries = _entries(layout)
    if not entries or (keep_preflight and _begun_by_preflight(layout, entries)):
        return
    previous = layout.root / PREVIOUS
    if previous.exists():
        _remove(previous)
    previous.mkdir()
    for entry in entries:
        entry.rename(previous / entry.name)


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink()
