"""Parsing and validating readings: every bad one has a reason; the parser never raises."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from twonets.city.sensing.definitions import catalog
from twonets.city.sensing.readings import REASONS, split, validate


class _Thing:
    type = "water_level_gauge"


NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
THINGS = {"wlg-1": _Thing()}


def check(payload, topic=None, ndjson=False):
    items, bad = split(payload, topic, ndjson)
    good, rejected = validate(items, THINGS, catalog(), NOW, timedelta(days=30))
    return good, bad + rejected


def test_single_batch_values_and_ndjson():
    ts = NOW.isoformat()
    good, bad = check(json.dumps({"ts": ts, "attribute": "depth_cm", "value": 3}), "wlg-1")
    assert len(good) == 1 and not bad and good[0].ts == NOW
    good, bad = check(json.dumps([{"ts": ts, "values": {"depth_cm": 3, "battery_pct": 90}},
                                  {"ts": NOW.timestamp() - 60, "attribute": "depth_cm", "value": 2}]), "wlg-1")
    assert len(good) == 3 and not bad
    nd = "\n".join(json.dumps({"thing_id": "wlg-1", "ts": ts, "attribute": "depth_cm", "value": v}) for v in (1, 2)) + "\n"
    good, bad = check(nd, ndjson=True)
    assert len(good) == 2 and not bad


def test_reasons():
    ts = NOW.isoformat()
    cases = {
        "malformed_json": ("{nope", "wlg-1"),
        "not_an_object": ("[1]", "wlg-1"),
        "missing_field": (json.dumps({"ts": ts, "value": 1}), "wlg-1"),
        "bad_timestamp": (json.dumps({"ts": "yesterday", "attribute": "depth_cm", "value": 1}), "wlg-1"),
        "timestamp_in_future": (json.dumps({"ts": (NOW + timedelta(hours=1)).isoformat(), "attribute": "depth_cm", "value": 1}), "wlg-1"),
        "timestamp_too_old": (json.dumps({"ts": (NOW - timedelta(days=31)).isoformat(), "attribute": "depth_cm", "value": 1}), "wlg-1"),
        "unknown_thing": (json.dumps({"thing_id": "ghost", "ts": ts, "attribute": "depth_cm", "value": 1}), None),
        "thing_mismatch": (json.dumps({"thing_id": "other", "ts": ts, "attribute": "depth_cm", "value": 1}), "wlg-1"),
        "unknown_attribute": (json.dumps({"ts": ts, "attribute": "speed", "value": 1}), "wlg-1"),
        "not_a_number": (json.dumps({"ts": ts, "attribute": "depth_cm", "value": "high"}), "wlg-1"),
        "out_of_range": (json.dumps({"ts": ts, "attribute": "depth_cm", "value": 301}), "wlg-1"),
    }
    assert set(cases) == set(REASONS)
    for reason, (payload, topic) in cases.items():
        good, bad = check(payload, topic)
        assert not good and [b.reason for b in bad] == [reason], (reason, bad)
        assert bad[0].detail
    # a naive timestamp is refused too: the district stores only aware UTC times
    _, bad = check(json.dumps({"ts": "2026-11-26T15:00:00", "attribute": "depth_cm", "value": 1}), "wlg-1")
    assert bad[0].reason == "bad_timestamp"
    _, bad = check(json.dumps({"ts": NOW.isoformat(), "attribute": "depth_cm", "value": True}), "wlg-1")
    assert bad[0].reason == "not_a_number"


def test_digest_is_stable_for_a_redelivery_and_differs_by_message():
    _, a = check("{nope", "wlg-1")
    _, b = check("{nope", "wlg-1")
    _, c = check("{nope!", "wlg-1")
    assert a[0].digest("mqtt", "t") == b[0].digest("mqtt", "t") != c[0].digest("mqtt", "t")


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v)),
                 st.dictionaries(st.sampled_from(["ts", "attribute", "value", "values", "thing_id"]), json_values).map(json.dumps)))
def test_the_parser_never_raises_and_accounts_for_everything(payload):
    good, bad = check(payload, "wlg-1")
    assert all(b.reason in REASONS for b in bad)
    for g in good:
        assert g.thing_id == "wlg-1" and g.ts.tzinfo is not None
