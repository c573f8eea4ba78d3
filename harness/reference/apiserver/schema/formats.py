"""String formats a CRD schema's `format` makes kube-apiserver check.

The formats kube-apiserver v1.37 supports for strings (names compared without `-`), each as
kube-openapi's `strfmt` registry checks it. A value that fails is a `FieldValueTypeInvalid`
cause, `must be of type <format>`. Formats outside the supported list are not checked (the
real server strips them). `uri`, `isbn*`, `creditcard`, `ssn` and `rgbcolor` are
supported there but not checked here (their checkers are libraries of their own), and `email`
is approximated (an address with a local part and a domain, as `net/mail` parses it).
"""

from __future__ import annotations

import email.utils
import ipaddress
import re
from collections.abc import Callable

from harness.contract.timestamps import is_rfc3339

_UUID = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?{v}[0-9a-fA-F]{3}-?{w}[0-9a-fA-F]{3}-?[0-9a-fA-F]{12}"
# kube-openapi's hostname pattern; `\p{L}` (any letter) as `[^\W\d_]`, `\p{S}` left out.
_CHAR = r"(?:[a-zA-Z0-9]|[^\W\d_])"
_CHAR_OR_DASH = r"(?:[a-zA-Z0-9-]|[^\W\d_])"
_HOSTNAME = re.compile(
    rf"^({_CHAR}((-?{_CHAR}{{0,62}})?)|({_CHAR}(({_CHAR_OR_DASH}{{0,61}}{_CHAR})?)(\.)){{1,}}"
    r"((?:[a-zA-Z]|[^\W\d_])){2,63})$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_GO_DURATION = re.compile(r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$|^[-+]?0$")
_LOOSE_DURATION = re.compile(r"(\d+)\s*([A-Za-zµ]+)")
_DURATION_UNITS = (
    ("ns", "nano"),
    ("us", "µs", "micro"),
    ("ms", "milli"),
    ("s", "sec"),
    ("m", "min"),
    ("h", "hr", "hour"),
    ("d", "day"),
    ("w", "wk", "week"),
)
_BASE64 = re.compile(
    r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$"
)
_MAC = re.compile(
    r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$|^([0-9a-fA-F]{2}[:-]){7}[0-9a-fA-F]{2}$"
    r"|^([0-9a-fA-F]{2}[:-]){19}[0-9a-fA-F]{2}$"
    r"|^([0-9a-fA-F]{4}\.){2}[0-9a-fA-F]{4}$|^([0-9a-fA-F]{4}\.){3}[0-9a-fA-F]{4}$"
    r"|^([0-9a-fA-F]{4}\.){9}[0-9a-fA-F]{4}$"
)
_SHORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")


def _uuid(version: str = "[0-9a-fA-F]", variant: str = "[0-9a-fA-F]") -> Callable[[str], bool]:
    pattern = re.compile("^" + _UUID.replace("{v}", version).replace("{w}", variant) + "$")
    return lambda text: pattern.match(text) is not None


def _hostname(text: str) -> bool:
    if len(text) > 255 or _HOSTNAME.match(text) is None:
        return False
    return all(len(part) <= 63 for part in text.split("."))


def _date(text: str) -> bool:
    if _DATE.match(text) is None:
        return False
    year, month, day = (int(part) for part in text.split("-"))
    days = [31, 29 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 28]
    days += [31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return 1 <= month <= 12 and 1 <= day <= days[month - 1]


def _duration(text: str) -> bool:
    """Go's `time.ParseDuration`, else at least one `<n> <unit>` pair with a known unit."""
    if _GO_DURATION.match(text):
        return True
    for _, raw_unit in _LOOSE_DURATION.findall(text):
        unit = raw_unit.strip().lower()
        for variants in _DURATION_UNITS:
            if unit in variants or unit.startswith(variants[-1]):
                return True
    return False


def _ipv4(text: str) -> bool:
    try:
        return "." in text and isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)
    except ValueError:
        return _ipv4_mapped(text)


def _ipv4_mapped(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None


def _ipv6(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return ":" in text


def _cidr(text: str) -> bool:
    if "/" not in text:
        return False
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def _email(text: str) -> bool:
    address = email.utils.parseaddr(text)[1]
    local, _, domain = address.rpartition("@")
    return bool(local and domain) and " " not in address


def _long_name(text: str) -> bool:
    return len(text) <= 253 and all(_SHORT_NAME.match(part) for part in text.split("."))


CHECKS: dict[str, Callable[[str], bool]] = {
    "datetime": is_rfc3339,
    "date": _date,
    "duration": _duration,
    "uuid": _uuid(),
    "uuid3": _uuid("3"),
    "uuid4": _uuid("4", "[89abAB]"),
    "uuid5": _uuid("5", "[89abAB]"),
    "hostname": _hostname,
    "ipv4": _ipv4,
    "ipv6": _ipv6,
    "cidr": _cidr,
    "mac": lambda text: _MAC.match(text) is not None,
    "byte": lambda text: _BASE64.match(text) is not None,
    "password": lambda text: True,
    "email": _email,
    "hexcolor": lambda text: _HEX_COLOR.match(text) is not None,
    "bsonobjectid": lambda text: _OBJECT_ID.match(text) is not None,
    "k8sshortname": lambda text: len(text) <= 63 and _SHORT_NAME.match(text) is not None,
    "k8slongname": _long_name,
}


def checker(schema_format: str | None, schema_type: str | None) -> Callable[[str], bool] | None:
    """The check of a string node's `format`, or None when it checks nothing."""
    if not schema_format or schema_type not in (None, "string"):
        return None
    return CHECKS.get(schema_format.replace("-", ""))
