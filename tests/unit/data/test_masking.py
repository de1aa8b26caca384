from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twonets.data.masking import generalise, mask, valid_generalise


def test_examples():
    assert mask("310101199001011234", "id_number") == "3101**********1234"
    assert mask("13812345678", "phone") == "138****5678"
    assert mask("张三丰", "name") == "张**"
    assert mask("李四", "name") == "李*"
    assert mask("上海市黄浦区南京东路100号5室", "address") == "上海市黄浦区******"
    assert mask("zhang@example.cn", "email") == "z***@example.cn"
    assert mask("secret", "full") == "******"
    assert mask(None, "name") is None
    assert mask("public value", None) == "public value"


@given(st.from_regex(r"\A[0-9]{17}[0-9X]\Z"))
def test_id_numbers_keep_only_the_ends(idn):
    out = mask(idn, "id_number")
    assert len(out) == len(idn)
    assert out[:4] == idn[:4] and out[-4:] == idn[-4:]
    assert set(out[4:-4]) == {"*"}


@given(st.from_regex(r"\A1[0-9]{10}\Z"))
def test_phones_hide_the_middle(phone):
    out = mask(phone, "phone")
    assert out[:3] == phone[:3] and out[-4:] == phone[-4:] and set(out[3:-4]) == {"*"}


@given(st.text(min_size=1, max_size=40), st.sampled_from(["id_number", "phone", "name", "address", "email", "partial", "full"]))
def test_masking_never_returns_the_value_unchanged_for_long_values(value, kind):
    out = mask(value, kind)
    assert isinstance(out, str)
    if len(value.strip()) >= 3 and kind != "address":
        assert out != value


def test_generalise():
    assert generalise("1990-05-01", "year") == "1990"
    assert generalise("1990-05-01", "month") == "1990-05"
    assert generalise(37, "band:10") == "30-39"
    assert generalise("上海市黄浦区南京东路100号", "district") == "上海市黄浦区"
    assert generalise("ABCDEFG", "prefix:3") == "ABC"
    assert generalise("not a date", "year") is None
    assert generalise(None, "year") is None
    with pytest.raises(ValueError):
        generalise("x", "nonsense")
    assert valid_generalise("band:5") and not valid_generalise("band:x") and not valid_generalise("year:2")
