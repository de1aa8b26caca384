"""The one cursor type: round trips, and refuses whatever it did not make."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twonets.core import pages
from twonets.core.errors import InvalidInput


@given(st.integers(min_value=0, max_value=pages.MAX_INT))
def test_integers_round_trip(n):
    assert pages.decode_int(pages.encode("o", n), "o") == n


def test_times_round_trip_and_first_page_is_none():
    at = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
    assert pages.decode_time(pages.encode("r", at), "r") == at
    assert pages.decode_int(None, "o") is None and pages.decode_time("", "r") is None


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "99999999999999999999999", "%%%", "x" * 500, _b64(f"o:{pages.MAX_INT + 1}"), _b64("o:-1"), _b64("o:"),
    _b64("a:5"), _b64("o:5.0"), _b64("o:٣"), _b64("o"), base64.urlsafe_b64encode(b"o:\xff\xfe").decode(),
])
def test_garbage_is_invalid_input_on_the_cursor_field(cursor):
    with pytest.raises(InvalidInput) as err:
        pages.decode_int(cursor, "o")
    assert err.value.errors[0]["field"] == "cursor"


@given(st.text(max_size=60))
def test_any_text_is_a_value_or_invalid_input(text):
    try:
        pages.decode_int(text, "o")
        pages.decode_time(text, "r")
    except InvalidInput:
        pass


def test_next_cursor_only_when_more_rows_than_the_limit():
    assert pages.next_cursor([1, 2, 3], 3, "o", lambda r: r) is None
    assert pages.decode_int(pages.next_cursor([1, 2, 3, 4], 3, "o", lambda r: r), "o") == 3
    page = pages.page([5, 4, 3], 2, "o", lambda r: r, lambda r: {"n": r})
    assert page.items == [{"n": 5}, {"n": 4}] and pages.decode_int(page.next, "o") == 4
