"""`python -m harness doctor [options]`: arguments, connections, run, print, exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.clients.kubernetes_api import KubeClient
from harness.clients.resources import KubeError
from harness.config import OPTIONS, ConfigError, Settings, load_settings
from harness.doctor.arguments import add_arguments
from harness.doctor.checks import CHECKS, selected
from harness.doctor.context import DoctorContext, DoctorOptions
from harness.doctor.execution import run_checks
from harness.doctor.model import VERDICTS
from harness.doctor.output import as_json, table
from harness.exitcodes import ExitCode

__all__ = ["add_arguments", "run_main"]


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    return {
        option.flag: getattr(args, option.flag.lstrip("-").replace("-", "_")) for option in OPTIONS
    }


def main(args: argparse.Namespace, out: Callable[[str], None], err: Callable[[str], None]) -> int:
    """Raises ConfigError for bad settings (the caller turns it into a usage error)."""
    known = {check.id for check in CHECKS}
    unknown = [name for name in args.only if name not in known]
    if unknown:
        raise ConfigError(
            f"--only: unknown check {unknown[0]!r}; known: {', '.join(sorted(known))}"
        )
    settings = load_settings(_flags(args))
    options = DoctorOptions(
        operator_namespace=args.operator_namespace,
        operator_deployment=args.operator_deployment,
        expected_release=args.expected_release,
        expected_image=args.expected_image,
        trusted_orgs=tuple(args.trusted_org),
        webhook_timeout=args.webhook_timeout,
        require_evidence=args.require_evidence,
    )
    if settings.embedded:
        return _on_embedded_stack(settings, options, args, out, err)
    return _diagnose(settings, options, args, out)


def _diagnose(
    settings: Settings, options: DoctorOptions, args: argparse.Namespace, out: Callable[[str], None]
) -> int:
    ctx = DoctorContext(settings, options)
    try:
        ctx.kube = KubeClient.from_settings(settings)
    except KubeError as error:
        ctx.cache["kube_error"] = str(error)
    checks = selected(args.only)
    try:
        findings = run_checks(ctx, checks)
    finally:
        if ctx.kube is not None:
            ctx.kube.close()
    assert all(f.verdict in VERDICTS for f in findings)
    rendered = as_json(findings)
    if settings.results_dir is not None:
        _write_report(settings.results_dir, rendered)
    out(rendered if args.json else table(findings))
    ready = not any(f.blocks for f in findings)
    return int(ExitCode.PASSED if ready else ExitCode.ENVIRONMENT_NOT_READY)


def _on_embedded_stack(
    settings: Settings,
    options: DoctorOptions,
    args: argparse.Namespace,
    out: Callable[[str], None],
    err: Callable[[str], None],
) -> int:
    """--target embedded: start the reference stack, examine it, stop it."""
    import tempfile

    from harness.reference.stack import StackError, StackOptions, launch

    with tempfile.TemporaryDirectory(prefix="harness-doctor-") as temporary:
        state = settings.state_dir or Path(temporary)
        stack = launch(StackOptions(state_dir=state, profile=settings.profile.name))
        try:
            connected = settings.connected_to(stack.start())
        except StackError as error:
            err(f"harness doctor: the embedded stack did not start: {error}")
            return int(ExitCode.ENVIRONMENT_NOT_READY)
        try:
            return _diagnose(connected, options, args, out)
        finally:
            stack.stop()


def run_main(args: argparse.Namespace) -> int:
    def out(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    def err(text: str) -> None:
        sys.stderr.write(text.rstrip() + "\n")

    return main(args, out, err)


def _write_report(root: Path, rendered: str) -> None:
    """The doctor starts the run's layout; `harness run` after it keeps doctor.json. A results
    directory it may not use is bad input (ConfigError), like any other."""
    from harness.filewrites import is_disk_trouble
    from harness.ownership import DirectoryBusy, hold
    from harness.runner.resultsdir import (
        ResultsDirError,
        check_results_dir,
        discard_previous,
        prepare_results_dir,
    )

    try:
        check_results_dir(root)
        root.mkdir(parents=True, exist_ok=True)
        with hold(root, "harness doctor", "results dir"):
            layout = prepare_results_dir(root, preflight=True)
            layout.doctor.write_text(rendered)
            discard_previous(layout)
    except (ResultsDirError, DirectoryBusy) as error:
        raise ConfigError(str(error)) from None
    except OSError as error:
        if is_disk_trouble(error):
            raise  # the disk's doing (full, read-only): exit 20, not bad input
        raise ConfigError(f"results dir {root}: {error.strerror}") from None
