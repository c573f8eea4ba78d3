"""The `self == oldSelf` fast path must give celpy's answer (True, False or an error) every time."""

from __future__ import annotations

import itertools
from typing import Any

import celpy
import pytest

from harness.reference.apiserver.schema.cel import CelEvalError, _compile_rule, cel_equal, to_cel
from harness.reference.apiserver.schema.structural import SchemaNode, compile_schema

VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    2,
    1.0,
    0.5,
    -0.0,
    float("nan"),
    "",
    "1",
    "a",
    [],
    [1],
    [1.0],
    [1, 2],
    [2, 1],
    ["a", 1],
    [1, "a"],
    [None],
    [True],
    [[1], 1],
    [1, [1]],
    {},
    {"a": 1},
    {"a": 1.0},
    {"a": "1"},
    {"a": None},
    {"b": 1},
    {"a": 1, "b": "x"},
    {"a": 2, "b": 1},
    {"a": "x", "b": 1},
    {"a": [1, {"b": 2}]},
    {"a": [1, {"b": 3}]},
]

TYPED = {
    "number": (compile_schema({"type": "number"}), [1, 1.0, 2, 2.5, 0, -0.0]),
    "numbers": (
        compile_schema({"type": "array", "items": {"type": "number"}}),
        [[1], [1.0], [1, 2.0], [2]],
    ),
    "disk": (
        compile_schema(
            {
                "type": "object",
                "properties": {"sizeGiB": {"type": "integer"}, "ratio": {"type": "number"}},
            }
        ),
        [
            {"sizeGiB": 1},
            {"sizeGiB": 2},
            {"sizeGiB": 1, "ratio": 1},
            {"sizeGiB": 1, "ratio": 1.0},
            {"ratio": 0.5},
        ],
    ),
}

_program = celpy.Environment().program(celpy.Environment().compile("self == oldSelf"))


def celpy_outcome(left: Any, right: Any, node: SchemaNode | None) -> Any:
    try:
        result = _program.evaluate({"self": to_cel(left, node), "oldSelf": to_cel(right, node)})
    except Exception:
        return "error"
    return "error" if isinstance(result, Exception) else bool(result)


def fast_outcome(left: Any, right: Any, node: SchemaNode | None) -> Any:
    try:
        return cel_equal(left, right, node)
    except CelEvalError:
        return "error"


def test_fast_path_agrees_with_celpy_on_untyped_values():
    disagreements = [
        (left, right, celpy_outcome(left, right, None), fast_outcome(left, right, None))
        for left, right in itertools.product(VALUES, repeat=2)
        if celpy_outcome(left, right, None) != fast_outcome(left, right, None)
    ]
    assert disagreements == []


@pytest.mark.parametrize("case", sorted(TYPED))
def test_fast_path_agrees_with_celpy_on_schema_typed_values(case):
    node, values = TYPED[case]
    for left, right in itertools.product(values, repeat=2):
        assert fast_outcome(left, right, node) == celpy_outcome(left, right, node), (left, right)


def test_numbers_of_number_fields_compare_as_doubles():
    node = compile_schema({"type": "number"})
    assert cel_equal(1, 1.0, node) is True
    assert fast_outcome(1, 1.0, None) == "error", "untyped int vs double has no overload in celpy"


def test_fast_path_is_chosen_only_for_the_exact_idiom():
    for expression in ("self == oldSelf", "  self==oldSelf ", "self ==\n oldSelf"):
        assert _compile_rule({"rule": expression}, "r").fast_equal
    for expression in ("oldSelf == self", "self == oldSelf || true", "self.a == oldSelf.a"):
        rule = _compile_rule({"rule": expression}, "r")
        assert not rule.fast_equal
        assert rule.transition
