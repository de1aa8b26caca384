"""The input gate's JSON rules (api/input_guard.py), on raw bodies: what is refused, with which
field path, and what is only text that looks like it."""

from __future__ import annotations

import json

import pytest

from twonets.api.input_guard import MAX_DEPTH, json_errors


def _nested(depth: int) -> bytes:
    return ("[" * depth + "1" + "]" * depth).encode()


def test_depth_up_to_the_cap_is_fine_and_one_more_is_refused():
    assert json_errors(_nested(MAX_DEPTH)) == []
    assert json_errors(_nested(MAX_DEPTH + 1)) == [{"field": "body", "message": f"nested deeper than {MAX_DEPTH} levels"}]


def test_brackets_inside_strings_do_not_count():
    assert json_errors(json.dumps({"text": "[" * 500 + '\\"{' * 100}).encode()) == []


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_named_where_they_are(token):
    raw = ('{"form": {"values": [1, ' + token + "]}}").encode()
    assert [e["field"] for e in json_errors(raw)] == ["form.values.1"]


def test_words_that_look_like_them_in_strings_are_text():
    assert json_errors(json.dumps({"note": "NaN Infinity", "path": "C:\\u0000"}).encode()) == []


def test_a_nul_in_a_value_or_a_field_name_is_named_never_echoed():
    errors = json_errors(json.dumps([{"ok": "x"}, {"note": "a\x00b", "k\x00": 1}]).encode())
    assert errors == [{"field": "1", "message": "a field name contains a NUL byte (U+0000)"},
                      {"field": "1.note", "message": "contains a NUL byte (U+0000)"}]


def test_malformed_json_is_left_to_the_parser_that_reports_it():
    assert json_errors(b'{"a": NaN') == []
