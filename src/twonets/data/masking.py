"""Masking of personal fields (shown by default) and generalisation for open data.

    mask("310101199001011234", "id_number") -> "3101**********1234"
    mask("13812345678", "phone")            -> "138****5678"
    mask("张三丰", "name")                   -> "张**"
    mask("上海市黄浦区南京东路100号", "address") -> "上海市黄浦区******"
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

SENSITIVITIES = ("public", "internal", "personal", "sensitive_personal")
MASKS = ("id_number", "phone", "name", "address", "email", "partial", "full")
PERSONAL = frozenset({"personal", "sensitive_personal"})



def _district(value: str) -> str | None:
    """The leading part of an address up to its district (区/县), else its city (市)."""
    for marker in ("区", "县", "市"):
        i = value.find(marker)
        if 0 < i <= 12:
            return value[: i + 1]
    return None


def _stars(n: int) -> str:
    return "*" * max(n, 1)


def mask_id_number(value: str) -> str:
    if len(value) <= 8:
        return _stars(len(value))
    return value[:4] + _stars(len(value) - 8) + value[-4:]


def mask_phone(value: str) -> str:
    digits = value.strip()
    if len(digits) < 7:
        return _stars(len(digits))
    return digits[:3] + _stars(len(digits) - 7) + digits[-4:]


def mask_name(value: str) -> str:
    value = value.strip()
    if not value:
        return value
    return value[0] + _stars(len(value) - 1)


def mask_address(value: str) -> str:
    """Keep the district (and street, when the address names one); hide the rest."""
    keep = _district(value) or ""
    if not keep or len(keep) >= len(value):
        keep = value[: min(6, len(value) // 2)]
    return keep + _stars(min(len(value) - len(keep), 6))


def mask_email(value: str) -> str:
    user, _, domain = value.partition("@")
    if not domain:
        return mask_name(value)
    return (user[:1] + "***@" + domain) if user else "***@" + domain


def mask_partial(value: str) -> str:
    if len(value) <= 2:
        return _stars(len(value))
    keep = max(1, len(value) // 4)
    return value[:keep] + _stars(len(value) - 2 * keep) + value[-keep:]


_MASKERS = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "name": mask_name,
    "address": mask_address,
    "email": mask_email,
    "partial": mask_partial,
    "full": lambda v: "******",
}


def default_mask(sensitivity: str) -> str | None:
    if sensitivity == "personal":
        return "partial"
    if sensitivity == "sensitive_personal":
        return "full"
    return None


def mask(value: Any, kind: str | None) -> Any:
    """Mask one value; None and non-personal kinds pass through unchanged."""
    if value is None or kind is None:
        return value
    return _MASKERS[kind](str(value))


# --- generalisation (open data) -----------------------------------------------------------


def generalise(value: Any, rule: str) -> Any:
    """Generalise a value for open data. Rules: year, month, prefix:N, band:N, district."""
    if value is None:
        return None
    name, _, arg = rule.partition(":")
    if name in ("year", "month"):
        if isinstance(value, (date, datetime)):
            d = value
        else:
            try:
                d = date.fromisoformat(str(value)[:10])
            except ValueError:
                return None
        return f"{d.year:04d}" if name == "year" else f"{d.year:04d}-{d.month:02d}"
    if name == "prefix":
        return str(value)[: int(arg or 3)]
    if name == "band":
        width = int(arg or 10)
        try:
            n = int(float(value))
        except (TypeError, ValueError):
            return None
        lo = n - n % width
        return f"{lo}-{lo + width - 1}"
    if name == "district":
        return _district(str(value))
    raise ValueError(f"unknown generalisation rule {rule!r}")


def valid_generalise(rule: str) -> bool:
    name, _, arg = rule.partition(":")
    if name in ("year", "month", "district"):
        return not arg
    if name in ("prefix", "band"):
        return arg == "" or (arg.isdigit() and int(arg) > 0)
    return False
