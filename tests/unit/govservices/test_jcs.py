"""The canonical JSON of the proofs (govservices/dataintegrity.py `canonical`) is RFC 8785 (JCS)
whichever path writes it: the standard library's encoder for plain documents, the `rfc8785`
reference implementation for the rest — compared on generated documents."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from twonets.govservices.dataintegrity import _plain, canonical

# keys and strings from every plane, control characters, quotes and backslashes included
text = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(["", '"', "\\", "\x00\x1f\x7f", "持有人", "\U0001F600"])
scalars = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | text | st.floats(allow_nan=False, allow_infinity=False)
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=5),
                         max_leaves=25)


@settings(max_examples=400, derandomize=True)
@given(documents)
def test_canonical_is_jcs(doc):
    assert _outcome(canonical, doc) == _outcome(rfc8785.dumps, doc)


def _outcome(fn, doc):
    try:
        return fn(doc)
    except Exception as exc:  # noqa: BLE001 - what cannot be canonical (e.g. 2**60) is refused the same way
        return type(exc)


def test_plain_documents_take_the_fast_path_and_others_do_not():
    assert _plain({"credentialSubject": {"姓名": "王建国", "n": 2**53 - 1}, "types": ["a", None, True]})
    assert not _plain({"n": 2**53})
    assert not _plain({"x": 1.5})
    assert not _plain({"\U0001F600": 1})
