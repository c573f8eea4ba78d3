"""The restart suites.

`HARNESS_SUITES` tells the harness plugin that this session runs them, so on the embedded stack
it starts the stack while pytest is still importing and collecting, not at the first test.
"""

HARNESS_SUITES = True
