"""`python -m harness report`: the HTML report, built by Allure Report 3 from allure-results.

Allure Report 3 is the npm package `allure` (CLI: `allure generate <results> -o <report>`).
It is installed on first use into a cache folder with npm, so the harness needs Node.js only
when a report is built; without Node.js the command says in one line how to get it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.filewrites import is_disk_trouble
from harness.results import ResultsLayout

ALLURE_PACKAGE = "allure@3"
NODE_HELP = (
    "building the report needs Node.js (18 or newer; 20+ recommended) with npm: on "
    "Debian/Ubuntu `apt-get install nodejs npm`, elsewhere see https://nodejs.org"
)
MIN_NODE = 18


ALLURE_HOME_ENV = "HARNESS_ALLURE_HOME"


class ReportError(RuntimeError):
    """The report cannot be built; the message is one line saying why and what to do."""


class BadInput(ValueError):
    """A usage error (exit code 4)."""


@dataclass(frozen=True)
class Toolchain:
    node: str
    npm: str
    version: str


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get(ALLURE_HOME_ENV) or Path(base) / "osac-harness" / "allure")


def find_toolchain() -> Toolchain:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing = "Node.js" if not node else "npm"
        raise ReportError(f"{missing} not found; {NODE_HELP}")
    try:
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        raise ReportError(f"cannot run {node} ({error}); {NODE_HELP}") from None
    major = version.lstrip("v").split(".")[0]
    if not (major.isascii() and major.isdigit()) or int(major) < MIN_NODE:
        raise ReportError(f"Node.js {version} is too old for Allure Report 3; {NODE_HELP}")
    return Toolchain(node, npm, version)


def allure_cli(cache: Path, tools: Toolchain, say: Callable[[str], None]) -> Path:
    """The `allure` executable from the cache, installed with npm on first use."""
    cli = cache / "node_modules" / ".bin" / "allure"
    if cli.is_file():
        return cli
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        if os.environ.get(ALLURE_HOME_ENV) and not is_disk_trouble(error):
            raise BadInput(f"{ALLURE_HOME_ENV}: cannot use {cache}: {error.strerror}") from None
        raise
    say(f"harness report: installing {ALLURE_PACKAGE} into {cache} (first use)")
    result = subprocess.run(
        [tools.npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund", ALLURE_PACKAGE],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0 or not cli.is_file():
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise ReportError(f"npm install {ALLURE_PACKAGE} failed: {last}")
    return cli


def build(layout: ResultsLayout, cache: Path, say: Callable[[str], None]) -> Path:
    """Generate `layout.allure_report` from `layout.allure_results`; returns its index.html."""
    results = layout.allure_results
    if not results.is_dir() or not any(results.glob("*-result.json")):
        raise BadInput(
            f"no Allure results in {results}: run the suites with --alluredir {results} first "
            "(`python -m harness run` does)"
        )
    tools = find_toolchain()
    cli = allure_cli(cache, tools, say)
    result = subprocess.run(
        [tools.node, str(cli), "generate", str(results), "-o", str(layout.allure_report)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    index = layout.allure_report / "index.html"
    if result.returncode != 0 or not index.is_file():
        last = ((result.stderr or result.stdout).strip().splitlines() or ["no output"])[-1]
        raise ReportError(
            f"allure generate failed (exit {result.returncode}, Node.js {tools.version}): {last}"
        )
    return index


def serve(layout: ResultsLayout, cache: Path) -> int:
    """`allure open`: serve the built report on 127.0.0.1 and open a browser, until Ctrl-C
    (the report loads its data with requests a file:// page may not make)."""
    tools = find_toolchain()
    cli = allure_cli(cache, tools, lambda _: None)
    return subprocess.run(
        [tools.node, str(cli), "open", str(layout.allure_report)], check=False
    ).returncode
