"""Loaded with `-p`: tells the harness plugin that the session runs suites, so it runs their
tests in flight at once (a conftest would tell every session under tests/ the same)."""

HARNESS_SUITES = True
