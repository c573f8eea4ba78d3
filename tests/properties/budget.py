"""The fixed budget of the property-based tests: a set number of examples per property, no
per-example deadline (a loaded CI machine is not a bug), and derandomized, so every run tries
the same examples and a failure reproduces. The whole set stays within about a minute on two
cores."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def budget(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


# What a command line or an environment variable can hold: any text but NUL (which neither
# can carry) and lone surrogates.
TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
garbage = st.text(TEXT, max_size=40)
# Words a parser has opinions about, mixed into the garbage.
NUMBERS = st.sampled_from(
    ["0", "-1", "1", "2", "1e400", "nan", "inf", "-inf", "1e9", "٣", "²", "0x10", " 3 ", "3.5", ""]
)
value = st.one_of(garbage, NUMBERS)


def one_line(text: str) -> bool:
    return len([line for line in text.splitlines() if line.strip()]) <= 1
