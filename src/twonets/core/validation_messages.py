"""Pydantic's validation errors as messages of the catalogue: Pydantic writes them in English
only, so each error type has its own message id here, with the error's context as parameters
(`message(error)` for one item of `ValidationError.errors()`). A `ValueError` raised by a
validator keeps its own message (a `Msg` when it is one of ours)."""

from __future__ import annotations

from typing import Any

from twonets.core.i18n import N_, Msg

# error type -> msgid ({names} come from the error's ctx)
TEMPLATES: dict[str, str] = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "string_type": N_("Input should be a valid string"),
    "string_too_short": N_("String should have at least {min_length} characters"),
    "string_too_long": N_("String should have at most {max_length} characters"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "string_unicode": N_("Input should be a valid string, unable to parse raw data as a unicode string"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "finite_number": N_("Input should be a finite number"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "multiple_of": N_("Input should be a multiple of {multiple_of}"),
    "literal_error": N_("Input should be {expected}"),
    "enum": N_("Input should be {expected}"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be a valid dictionary or object to extract fields from"),
    "model_attributes_type": N_("Input should be a valid dictionary or object to extract fields from"),
    "list_type": N_("Input should be a valid list"),
    "tuple_type": N_("Input should be a valid tuple"),
    "set_type": N_("Input should be a valid set"),
    "too_short": N_("List should have at least {min_length} items, not {actual_length}"),
    "too_long": N_("List should have at most {max_length} items, not {actual_length}"),
    "datetime_type": N_("Input should be a valid datetime"),
    "datetime_parsing": N_("Input should be a valid datetime, like 2026-11-24T09:30:00+08:00"),
    "datetime_from_date_parsing": N_("Input should be a valid datetime or date, like 2026-11-24T09:30:00+08:00"),
    "date_type": N_("Input should be a valid date"),
    "date_parsing": N_("Input should be a valid date, like 2026-11-24"),
    "date_from_datetime_parsing": N_("Input should be a valid date, like 2026-11-24"),
    "date_from_datetime_inexact": N_("A date should have no time part"),
    "time_parsing": N_("Input should be a valid time, like 09:30"),
    "timezone_aware": N_("Input should have a time zone, like +08:00"),
    "timezone_naive": N_("Input should have no time zone"),
    "uuid_parsing": N_("Input should be a valid UUID"),
    "url_parsing": N_("Input should be a valid URL"),
    "url_scheme": N_("URL scheme should be {expected_schemes}"),
    "json_invalid": N_("Invalid JSON"),
    "json_type": N_("JSON input should be a string, bytes or bytearray"),
    "bytes_type": N_("Input should be valid bytes"),
    "bytes_too_long": N_("Data should have at most {max_length} bytes"),
    "bytes_too_short": N_("Data should have at least {min_length} bytes"),
    "union_tag_invalid": N_("Input tag {tag} found using {discriminator} does not match any of the expected tags: {expected_tags}"),
    "union_tag_not_found": N_("Unable to extract tag using discriminator {discriminator}"),
    "decimal_parsing": N_("Input should be a valid decimal"),
    "decimal_max_digits": N_("Decimal input should have no more than {max_digits} digits in total"),
    "decimal_max_places": N_("Decimal input should have no more than {decimal_places} decimal places"),
    "none_required": N_("Input should be None"),
    "frozen_field": N_("Field is frozen"),
    "assertion_error": N_("Assertion failed, {error}"),
}
FALLBACK = N_("Invalid value ({type})")


def message(error: dict[str, Any]) -> str:
    """One Pydantic error item as a message id with its parameters (English when read as a str)."""
    kind = error.get("type", "")
    ctx = dict(error.get("ctx") or {})
    if kind == "value_error":
        cause = ctx.get("error")
        text = cause.args[0] if isinstance(cause, BaseException) and cause.args else cause
        return text if isinstance(text, Msg) else Msg(str(text)) if text else Msg(FALLBACK, type=kind)
    template = TEMPLATES.get(kind)
    if template is None:
        return Msg(FALLBACK, type=kind)
    params = {k: (str(v) if isinstance(v, BaseException) else v) for k, v in ctx.items()}
    return Msg(template, **params)
