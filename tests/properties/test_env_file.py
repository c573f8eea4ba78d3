"""The stack's env file: whatever is in it, reading it gives the values or one line naming the
file and the line; what the stack writes reads back unchanged."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from harness.reference.envfile import EnvFileError, format_env, parse_env, read_env

from .budget import TEXT, budget

NAME = st.from_regex(re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,20}"), fullmatch=True)
LINE_FREE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r"))


@budget(300)
@given(
    text=st.text(TEXT, max_size=200)
    | st.lists(
        st.builds("{}={}".format, st.text(TEXT, max_size=8), st.text(TEXT, max_size=20)), max_size=6
    ).map("\n".join)
)
def test_any_text_reads_as_values_or_one_line(text):
    try:
        parse_env(text, "env")
    except EnvFileError as error:
        assert "\n" not in str(error)
        assert re.match(r"env:\d+: ", str(error)), str(error)


@budget(200)
@given(values=st.dictionaries(NAME, LINE_FREE, max_size=6))
def test_what_the_stack_writes_reads_back(values):
    assert parse_env(format_env(values)) == values


@budget(50)
@given(data=st.binary(max_size=200))
def test_any_bytes_in_the_file_read_as_values_or_one_line(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("env") / "env"
    path.write_bytes(data)
    try:
        read_env(path)
    except EnvFileError as error:
        assert "\n" not in str(error) and str(path) in str(error)
