"""Evaluation on outside labelled data: a CSV of real messages with the file's own labels, and
a map (YAML) from each label to the departments or categories that count as right for it.

    城乡建设: {departments: [zhujian, guihua, fangguan]}
    劳动和社会保障: {departments: [renshe]}
    交通运输: {categories: [bus_service, road_damage]}

A label may name departments, categories or both (a prediction is right when its department is
among the departments or its category among the categories). Rows whose label is not in the map
are counted and left out; the report says how many rows were mapped.
"""

from __future__ import annotations

import csv
import io
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from twonets.ai.evaluation import Report, evaluate
from twonets.ai.routing import RoutingModel


class OutsideDataError(Exception):
    """The CSV or the map cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class LabelMap:
    departments: dict[str, set[str]]
    categories: dict[str, set[str]]

    def accepted_departments(self, label: str, category_departments: Mapping[str, str]) -> set[str] | None:
        if label not in self.departments and label not in self.categories:
            return None
        depts = set(self.departments.get(label, set()))
        depts |= {category_departments[c] for c in self.categories.get(label, set()) if c in category_departments}
        return depts


def read_map(path: str | Path, known_departments: set[str], known_categories: set[str]) -> LabelMap:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise OutsideDataError(f"cannot read the label map {path}: {exc}") from None
    if not isinstance(raw, dict) or not raw:
        raise OutsideDataError(f"{path}: the label map must be a mapping of label → departments/categories")
    deps: dict[str, set[str]] = {}
    cats: dict[str, set[str]] = {}
    for label, target in raw.items():
        if isinstance(target, str | list):
            target = {"departments": [target] if isinstance(target, str) else target}
        if not isinstance(target, dict) or not set(target) <= {"departments", "categories"} or not target:
            raise OutsideDataError(f"{path}: {label!r} must map to departments: [...] and/or categories: [...]")
        d, c = set(target.get("departments") or []), set(target.get("categories") or [])
        bad = sorted(d - known_departments) + sorted(c - known_categories)
        if bad:
            raise OutsideDataError(f"{path}: {label!r} names unknown departments or categories: {', '.join(bad)}")
        if not d and not c:
            raise OutsideDataError(f"{path}: {label!r} maps to nothing")
        deps[str(label)], cats[str(label)] = d, c
    return LabelMap(deps, cats)


ENCODINGS = ("utf-8-sig", "gb18030")  # files from Chinese sources are often GBK / GB18030


def read_rows(path: str | Path, text_col: str, label_col: str) -> list[tuple[str, str]]:
    """(text, label) of every row with a text; UTF-8 or GB18030, comma, tab or semicolon separated."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # political-board posts run long
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise OutsideDataError(f"cannot read {path}: {exc}") from None
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise OutsideDataError(f"{path} is neither UTF-8 nor GB18030 text; save it as UTF-8 CSV")
    head = text[:4096].split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=head.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    cols = reader.fieldnames or []
    missing = [c for c in (text_col, label_col) if c not in cols]
    if missing:
        raise OutsideDataError(f"{path} has no column {', '.join(missing)}; its columns are: {', '.join(cols)}")
    return [((r[text_col] or "").strip(), (r[label_col] or "").strip()) for r in reader if (r[text_col] or "").strip()]


def file_digest(path: str | Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def mapped_rows(model: RoutingModel, path: str | Path, text_col: str, label_col: str, label_map: LabelMap):
    """(texts, accepted department sets, labels, total rows, unmapped label counts)."""
    rows = read_rows(path, text_col, label_col)
    kept, accepted, truth, unmapped = [], [], [], Counter()
    for text, label in rows:
        depts = label_map.accepted_departments(label, model.departments)
        if depts is None:
            unmapped[label] += 1
            continue
        kept.append(text)
        accepted.append(depts)
        truth.append(label)
    if not kept:
        raise OutsideDataError(f"none of the {len(rows)} rows has a label in the map; labels found: "
                               f"{', '.join(sorted(unmapped)[:20])}")
    return kept, accepted, truth, len(rows), unmapped


def calibrate_csv(model: RoutingModel, path: str | Path, text_col: str, label_col: str, label_map: LabelMap, *,
                  max_error: float) -> dict:
    """Choose the auto-route threshold on the district's own labelled demands (rather than on the
    generator's dev split): the lowest at which the wrong department stays within `max_error`.
    Sets it on the model and returns the evidence; figures later measured on the same file are
    no longer honest, and `evaluate_csv` says so."""
    import numpy as np

    from twonets.ai.routing import MARGIN, choose_threshold

    texts, accepted, _, total, _ = mapped_rows(model, path, text_col, label_col, label_map)
    names, dp = model.department_probabilities(model.probabilities(texts))
    conf = dp.max(axis=1)
    right = np.array([names[i] in a for i, a in zip(dp.argmax(axis=1), accepted)])
    threshold = choose_threshold(conf, right, max(0.0, max_error - MARGIN))
    auto = conf >= threshold
    evidence = {"file": Path(path).name, "sha256": file_digest(path), "rows": len(texts), "total": total,
                "threshold": round(float(threshold), 4), "auto_share": round(float(auto.mean()), 4),
                "auto_error": round(float((~right[auto]).mean()), 4) if auto.any() else None, "max_error": max_error}
    model.threshold = float(threshold)
    model.info["threshold_from"] = evidence
    return evidence


def evaluate_csv(model: RoutingModel, path: str | Path, text_col: str, label_col: str, label_map: LabelMap) -> Report:
    """Department-level figures on the rows whose label the map knows."""
    kept, accepted, truth, total, unmapped = mapped_rows(model, path, text_col, label_col, label_map)
    report = evaluate(model, kept, accepted, truth, level="department")
    return replace(report, mapped=len(kept), total=total, unmapped_labels=sorted(unmapped))


def calibrated_on(model: RoutingModel, path: str | Path) -> bool:
    """Whether the model's threshold was chosen on this very file (its auto-route figures would flatter it)."""
    source = model.info.get("threshold_from") or {}
    return source.get("sha256") == file_digest(path)
