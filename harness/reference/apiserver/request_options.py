"""A write request's options from its query string, decoded and validated as kube-apiserver's
handlers do before they touch storage: `CreateOptions`, `UpdateOptions` and `PatchOptions`
(dryRun, fieldManager, fieldValidation) and the parameters every request shares.

Query booleans read as Go's parameter codec reads them: absent, `0` or `false` (any case) is
false, anything else, the empty string too, is true. A refused option is 422 Invalid on the
options kind of the `meta.k8s.io` group with the options' empty name, as the handlers answer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from harness.reference.apiserver.go_format import go_quote
from harness.reference.apiserver.status_errors import (
    ApiError,
    Cause,
    bad_request,
    field_invalid,
    field_not_supported,
    field_too_long,
    invalid,
)

META_GROUP = "meta.k8s.io"
DRY_RUN_ALL = "All"
FIELD_VALIDATIONS = ("", "Ignore", "Strict", "Warn")
FIELD_MANAGER_MAX = 128


def query_bool(value: str | None) -> bool:
    """A boolean query parameter as Go's parameter codec converts it."""
    return value is not None and value != "0" and value.lower() != "false"


def parse_int64(value: str) -> int:
    """A query integer as Go's strconv.ParseInt reads it, or its 400."""
    if not re.fullmatch(r"[+-]?[0-9]+", value):
        raise bad_request(f"strconv.ParseInt: parsing {go_quote(value)}: invalid syntax")
    number = int(value)
    if not -(2**63) <= number < 2**63:
        raise bad_request(f"strconv.ParseInt: parsing {go_quote(value)}: value out of range")
    return number


def check_list_options(query: dict[str, str]) -> None:
    """The integers of a list, watch or deletecollection's ListOptions, present but empty too."""
    for name in ("limit", "timeoutSeconds"):
        if name in query:
            parse_int64(query[name])


def query_values(raw_query: list[tuple[str, str]], name: str) -> list[str]:
    """Every value of a repeated query parameter, in order (dryRun=All&dryRun=All)."""
    return [value for key, value in raw_query if key == name]


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """What a create, update or patch was asked for beyond its body."""

    dry_run: bool = False


def write_options(
    kind: str, query: dict[str, str], raw_query: list[tuple[str, str]]
) -> WriteOptions:
    """`kind` is CreateOptions, UpdateOptions or PatchOptions; raises the handler's 422."""
    dry_run = query_values(raw_query, "dryRun")
    causes = _field_manager_causes(query.get("fieldManager", ""))
    causes += dry_run_causes(dry_run)
    validation = query.get("fieldValidation", "")
    if validation not in FIELD_VALIDATIONS:
        causes.append(field_not_supported("fieldValidation", validation, list(FIELD_VALIDATIONS)))
    if causes:
        raise options_invalid(kind, causes)
    return WriteOptions(dry_run=bool(dry_run))


def dry_run_causes(values: list[str]) -> list[Cause]:
    """`dryRun` may only hold `All` (any number of times)."""
    if all(value == DRY_RUN_ALL for value in values):
        return []
    return [field_not_supported("dryRun", values, [DRY_RUN_ALL])]


def options_invalid(kind: str, causes: list[Cause]) -> ApiError:
    return invalid(kind, META_GROUP, "", causes)


def _field_manager_causes(manager: str) -> list[Cause]:
    causes: list[Cause] = []
    if len(manager.encode()) > FIELD_MANAGER_MAX:
        causes.append(field_too_long("fieldManager", FIELD_MANAGER_MAX))
    position = 0
    for char in manager:
        if not _printable(char):
            detail = f"invalid character U+{ord(char):04X} (at position {position})"
            causes.append(field_invalid("fieldManager", manager, detail))
        position += len(char.encode())
    return causes


def _printable(char: str) -> bool:
    """Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    return char == " " or unicodedata.category(char)[0] in "LMNPS"


def path_segment_name(name: str) -> None:
    """A name in a request path that storage cannot key: `.`, `..`, or one holding `/` or
    `%` (kube-apiserver's storage key check, after the body is read)."""
    problems = []
    if name in (".", ".."):
        problems.append(f"may not be '{name}'")
    problems += [f"may not contain '{char}'" for char in "/%" if char in name]
    if problems:
        raise bad_request(f"Name parameter invalid: {go_quote(name)}: {';'.join(problems)}")
