"""Detectors and thing types are data: a bad definition stops the start with file, line, reason."""

from __future__ import annotations

import shutil

import pytest

from twonets.city.sensing import definitions
from twonets.core.definitions import DefinitionError


def test_shipped_definitions_load():
    cat = definitions.load()
    assert len(cat.detectors) >= 12 and len(cat.types) >= 12
    for d in cat.detectors.values():
        assert d.name_zh and d.name_en
    for t in cat.types.values():
        assert t.name_zh and t.name_en and t.expected_interval > 0
    assert cat.detectors["road_waterlogging"].for_ == 300
    assert cat.detectors["elderly_no_water_use"].absent.for_ == 86400


@pytest.mark.parametrize("raw,seconds", [("90s", 90), ("5m", 300), ("1.5h", 5400), ("1d", 86400), (42, 42)])
def test_durations(raw, seconds):
    assert definitions.parse_duration(raw) == seconds


def _copy(tmp_path):
    target = tmp_path / "defs"
    shutil.copytree(definitions.DEFINITIONS, target)
    return target


def test_bad_detector_names_file_and_line(tmp_path):
    target = _copy(tmp_path)
    path = target / "detectors.yaml"
    text = path.read_text(encoding="utf-8").replace("for: 5m\n", "for: five minutes\n", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as err:
        definitions.load(target)
    line = text.splitlines().index("    for: five minutes") + 1
    assert err.value.path == path and err.value.line == line
    assert "duration" in err.value.reason


def test_unknown_category_or_attribute_stops_the_start(tmp_path):
    target = _copy(tmp_path)
    path = target / "detectors.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("category: waterlogging", "category: floods"), encoding="utf-8")
    with pytest.raises(DefinitionError, match="unknown category 'floods'"):
        definitions.load(target)
    target = _copy(tmp_path / "b")
    path = target / "detectors.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("attribute: depth_cm, op", "attribute: depth_mm, op", 1), encoding="utf-8")
    with pytest.raises(DefinitionError, match="depth_mm"):
        definitions.load(target)


def test_a_detector_is_a_condition_or_an_absence(tmp_path):
    with pytest.raises(ValueError):
        definitions.Detector(code="x", name_zh="x", name_en="x", thing_type="waste_bin", category="overflowing_bin")
    with pytest.raises(ValueError):
        definitions.Absence.model_validate({"for": "1h", "intervals": 3})
