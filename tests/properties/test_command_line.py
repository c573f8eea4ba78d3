"""Generated garbage at every command's parser and at the settings read from HARNESS_*
variables: one line and exit 4 (or the parsed command), never a traceback.

The commands themselves are stood in for (nothing starts); what runs is argparse, every argument
type, and the validation each command does before it acts."""

from __future__ import annotations

import contextlib
import io
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.commands import cli, suite_run
from harness.config import OPTIONS, ConfigError, load_settings
from harness.runner.deadline import DeadlineError, resolve_deadline
from harness.runner.shard import ShardError, resolve_shard

from .budget import NUMBERS, budget, one_line, value

COMMANDS = sorted(cli.COMMANDS)
FLAGS = sorted(
    {
        action
        for parser in cli.build_parser()._subparsers._group_actions[0].choices.values()  # type: ignore[union-attr]
        for item in parser._actions
        for action in item.option_strings
        if action not in ("-h", "--help")
    }
)
argument = st.one_of(st.sampled_from(FLAGS), value, st.sampled_from(["--", "-", "-x", "="]))


@pytest.fixture()
def stood_in(monkeypatch):
    """Every command replaced by one that validates as the real one does, then does nothing."""

    def validate_run(args):
        suite_run.validate(args)
        return 0

    commands = {name: (lambda args: 0) for name in cli.COMMANDS}
    commands["run"] = validate_run
    monkeypatch.setattr(cli, "COMMANDS", commands)
    monkeypatch.setattr(
        suite_run, "run", lambda args, extra, err: validate_run(args)
    )  # the real `run` starts pytest


@budget(250)
@given(command=st.sampled_from(COMMANDS), args=st.lists(argument, max_size=6))
def test_any_command_line_is_parsed_or_refused_in_one_line(stood_in, command, args):
    error = io.StringIO()
    with contextlib.redirect_stderr(error), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli.main([command, *args])
        except SystemExit as leaving:  # only --help leaves argparse this way
            code = leaving.code
    assert code in (0, 4), (code, error.getvalue())
    assert "Traceback" not in error.getvalue()
    if code == 4:
        assert one_line(error.getvalue()), error.getvalue()
        assert error.getvalue().startswith("harness"), error.getvalue()


ENV_NAMES = sorted({option.env for option in OPTIONS} - {"KUBECONFIG"})


@budget(300)
@given(
    environ=st.dictionaries(st.sampled_from(ENV_NAMES), value, max_size=5),
    target=st.sampled_from(["embedded", "cluster"]),
)
def test_any_harness_variables_are_settings_or_one_line_naming_the_variable(
    environ, target, tmp_path_factory
):
    environ = {**environ, "HARNESS_TARGET": target, "HOME": str(tmp_path_factory.getbasetemp())}
    try:
        load_settings({}, environ)
    except ConfigError as error:
        message = str(error)
        assert "\n" not in message
        named = [name for name in environ if name in message]
        assert named or "--target cluster needs" in message or "--via cr" in message, message


@budget(200)
@given(
    environ=st.dictionaries(
        st.sampled_from(
            [
                "HARNESS_SHARD",
                "HARNESS_SHARD_COUNT",
                "JOB_COMPLETION_INDEX",
                "HARNESS_DEADLINE",
                "HARNESS_JOB_DEADLINE",
                "HARNESS_DEADLINE_AT",
                "HARNESS_DEADLINE_AT_TOTAL",
            ]
        ),
        st.one_of(value, st.builds("{}/{}".format, NUMBERS, NUMBERS)),
        max_size=4,
    )
)
def test_shard_and_deadline_variables_resolve_or_name_the_variable(environ):
    for resolve, error_type in (
        (lambda: resolve_shard(None, environ), ShardError),
        (lambda: resolve_deadline(None, environ, 1.7e9), DeadlineError),
    ):
        try:
            resolve()
        except error_type as error:
            assert "\n" not in str(error)
            assert any(name in str(error) for name in environ), str(error)


@budget(100)
@given(value=st.text(string.printable + "é\u200b", max_size=12))
def test_a_boolean_variable_accepts_only_booleans(value):
    from harness.config import parse_switch

    words = {"1", "true", "yes", "on", "0", "false", "no", "off", ""}
    try:
        parse_switch(value, "HARNESS_KEEP_ON_FAILURE")
    except ConfigError as error:
        assert value.strip().lower() not in words
        assert str(error).startswith("HARNESS_KEEP_ON_FAILURE must be true or false")
    else:
        assert value.strip().lower() in words
