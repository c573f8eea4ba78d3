"""No two modules of the harness share a name, and no module is named like a package: a name
says what a module holds, once (`__init__` and `__main__` are Python's, the stubs protoc's)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[2] / "harness"
GENERATED = HARNESS / "contract" / "wire" / "gen"
PYTHON_NAMES = {"__init__", "__main__"}


def _modules() -> list[Path]:
    return [
        path
        for path in HARNESS.rglob("*.py")
        if GENERATED not in path.parents and path.stem not in PYTHON_NAMES
    ]


def test_every_module_name_is_used_once():
    places = defaultdict(list)
    for path in _modules():
        places[path.stem].append(str(path.relative_to(HARNESS.parent)))
    shared = {name: paths for name, paths in places.items() if len(paths) > 1}
    assert not shared, f"module names used more than once: {shared}"


def test_no_module_is_named_like_a_package():
    packages = {
        path.parent.name for path in HARNESS.rglob("__init__.py") if GENERATED not in path.parents
    }
    clashes = sorted(
        str(path.relative_to(HARNESS.parent)) for path in _modules() if path.stem in packages
    )
    assert not clashes, f"modules named like a package: {clashes}"
