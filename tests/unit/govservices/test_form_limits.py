"""Every form is bounded whatever its matter's schema allows: at most MAX_FORM_BYTES as JSON,
MAX_FORM_DEPTH levels, finite numbers only (issue 11 item 9: a form nested 900 levels broke the
server, NaN was stored as invalid JSON, forms had no size cap)."""

from __future__ import annotations

import pytest

from twonets.core.errors import InvalidInput
from twonets.govservices import forms
from twonets.govservices.models import Matter

OPEN = Matter(code="TEST-001", name_zh="测试", name_en="Test", department="gongan", type="administrative_licence",
              form={"type": "object", "additionalProperties": True})  # the schema itself sets no limit


def _fields(exc: pytest.ExceptionInfo) -> list[str]:
    return [e["field"] for e in exc.value.errors]


def test_a_form_over_the_size_cap_is_refused_naming_the_form():
    just_under = {"text": "x" * (forms.MAX_FORM_BYTES - 100)}
    forms.check_shape(OPEN, just_under)
    with pytest.raises(InvalidInput) as exc:
        forms.check_shape(OPEN, {**just_under, "more": "y" * 200})
    assert _fields(exc) == ["form"] and str(forms.MAX_FORM_BYTES // 1024) in exc.value.errors[0]["message"]


@pytest.mark.parametrize("depth", [forms.MAX_FORM_DEPTH + 1, 900, 5000])
def test_a_form_nested_too_deep_is_refused_before_the_schema_walks_it(depth):
    value: object = "x"
    for _ in range(depth):
        value = {"n": value}
    with pytest.raises(InvalidInput) as exc:
        forms.check_shape(OPEN, {"deep": value})
    assert _fields(exc) == ["form"]
    with pytest.raises(InvalidInput):
        forms.check_complete(OPEN, {"deep": value}, {})


def test_a_form_at_the_depth_cap_is_fine():
    value: object = "x"
    for _ in range(forms.MAX_FORM_DEPTH - 1):
        value = [value]
    forms.check_shape(OPEN, {"deep": value})


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused_naming_their_field(number):
    with pytest.raises(InvalidInput) as exc:
        forms.check_shape(OPEN, {"a": 1.5, "b": {"c": [0, number]}})
    assert _fields(exc) == ["form.b.c.1"]
