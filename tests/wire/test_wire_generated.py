"""The committed stubs in harness/contract/wire/gen match what the generator makes now."""

from __future__ import annotations

import subprocess
import sys

from harness.contract.wire import generate


def test_committed_stubs_are_current():
    stale = generate.stale_files(generate.render(), generate.existing())
    assert stale == [], (
        "generated stubs are stale; run `python -m harness.contract.wire.generate`: "
        + ", ".join(stale)
    )


def test_check_flag_exits_zero_when_current():
    result = subprocess.run(
        [sys.executable, "-m", "harness.contract.wire.generate", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stale_files_lists_changed_missing_and_extra():
    expected = {"a.py": "1", "b.py": "2", "c.py": "3"}
    actual = {"a.py": "1", "b.py": "changed", "d.py": "extra"}
    assert generate.stale_files(expected, actual) == ["b.py", "c.py", "d.py"]


def test_write_then_check_in_a_temporary_tree(tmp_path):
    expected = generate.render()
    assert generate.write(expected, tmp_path) == sorted(expected)
    assert generate.stale_files(expected, generate.existing(tmp_path)) == []
    victim = tmp_path / "__init__.py"
    victim.write_text("# edited by hand\n")
    assert generate.stale_files(expected, generate.existing(tmp_path)) == ["__init__.py"]


def test_imports_are_rewritten_under_the_gen_package():
    text = "from foo.v1 import a_pb2 as b\nfrom google.protobuf import any_pb2\n"
    rewritten = generate.rewrite_imports(text, ["foo"])
    assert rewritten.splitlines() == [
        "from harness.contract.wire.gen.foo.v1 import a_pb2 as b",
        "from google.protobuf import any_pb2",
    ]
    for name, content in generate.existing().items():
        for root in generate.proto_roots():
            assert f"\nfrom {root}." not in content, name
