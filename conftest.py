"""Root conftest: makes the harness plugin available when running from a checkout.

An installed harness registers its pytest plugin by entry point; in a plain checkout (no
install) this file registers the same module. Never both.
"""

import sys

if "harness.plugin.configure" not in sys.modules:
    pytest_plugins = ["harness.plugin.configure"]
