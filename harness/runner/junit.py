"""Merging JUnit XML reports: every shard's test suites under one `<testsuites>` with totals."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

COUNTED = ("tests", "failures", "errors", "skipped")


class JunitError(ValueError):
    """A report is not readable JUnit XML; one line naming the file."""


def _suites(path: Path) -> list[ET.Element]:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as error:
        raise JunitError(f"{path}: not readable JUnit XML ({error})") from None
    if root.tag == "testsuite":
        return [root]
    if root.tag == "testsuites":
        return list(root.iter("testsuite"))
    raise JunitError(f"{path}: root element <{root.tag}> is neither testsuites nor testsuite")


def merge_junit(reports: Iterable[Path], out: Path, name: str = "harness") -> ET.Element:
    merged = ET.Element("testsuites", {"name": name})
    totals = dict.fromkeys(COUNTED, 0)
    seconds = 0.0
    for report in reports:
        for suite in _suites(report):
            merged.append(suite)
            for key in COUNTED:
                totals[key] += int(suite.get(key) or 0)
            seconds += float(suite.get("time") or 0.0)
    for key, value in totals.items():
        merged.set(key, str(value))
    merged.set("time", f"{seconds:.3f}")
    ET.ElementTree(merged).write(out, encoding="utf-8", xml_declaration=True)
    return merged


def testcase_ids(path: Path) -> list[str]:
    """`classname::name` of every test case, for checks."""
    return [
        f"{case.get('classname')}::{case.get('name')}"
        for suite in _suites(path)
        for case in suite.iter("testcase")
    ]
