"""pytest's stderr through the usage filter: passed on as it comes, its usage block held."""

from __future__ import annotations

import io
import os

from harness.commands.usage_filter import UsageFilter

USAGE = (
    b"ERROR: usage: python -m pytest [options] [file_or_dir] [file_or_dir] [...]\n"
    b"python -m pytest: error: unrecognized arguments: --bogus\n"
    b"  inifile: /repo/pyproject.toml\n"
    b"  rootdir: /repo\n"
)


def _filtered(text: bytes, usage_error: bool) -> tuple[bytes, str | None]:
    read, write = os.pipe()
    sink = io.BytesIO()
    with os.fdopen(read, "rb") as source:
        stderr = UsageFilter(source, sink)
        with os.fdopen(write, "wb") as writer:
            writer.write(text)
        refused = stderr.finish(usage_error)
    return sink.getvalue(), refused


def test_a_usage_error_is_held_back_and_named():
    shown, refused = _filtered(USAGE, usage_error=True)
    assert (shown, refused) == (b"", "unrecognized arguments: --bogus")


def test_other_output_passes_through_unchanged():
    text = b"warning: something\nlog line\n"
    assert _filtered(text, usage_error=False) == (text, None)


def test_a_held_block_is_written_out_when_pytest_ended_otherwise():
    text = b"before\n" + USAGE
    assert _filtered(text, usage_error=False) == (text, None)
