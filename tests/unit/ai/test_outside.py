"""Evaluation on outside labelled data: long, multi-paragraph board posts under coarse labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from twonets.ai import outside
from twonets.city.reference import reference

DATA = Path(__file__).parents[2] / "data" / "ai"


@pytest.fixture
def label_map():
    ref = reference()
    return outside.read_map(DATA / "board_map.yaml", set(ref.departments), set(ref.categories))


def test_board_posts_are_scored_on_the_rows_the_map_knows(trained, label_map):
    r = outside.evaluate_csv(trained.model, DATA / "board_messages.csv", "留言详情", "一级标签", label_map)
    assert (r.mapped, r.total, r.unmapped_labels) == (12, 13, ["其他未知"])
    assert r.level == "department"
    # Posts that look nothing like the generator's: far better than picking one of 29 at random.
    assert r.accuracy >= 0.5 and r.top3 >= r.accuracy
    assert 0 <= r.macro_f1 <= 1


def test_a_label_may_name_categories(trained, tmp_path):
    ref = reference()
    path = tmp_path / "map.yaml"
    path.write_text("劳动和社会保障: {categories: [wage_arrears, social_insurance]}\n", encoding="utf-8")
    lm = outside.read_map(path, set(ref.departments), set(ref.categories))
    r = outside.evaluate_csv(trained.model, DATA / "board_messages.csv", "留言详情", "一级标签", lm)
    assert r.mapped == 2


@pytest.mark.parametrize("text, message", [
    ("城乡建设: {departments: [nosuch]}\n", "unknown departments or categories: nosuch"),
    ("城乡建设: {people: [x]}\n", "must map to departments"),
    ("- a\n", "must be a mapping"),
])
def test_a_bad_map_says_what_to_fix(tmp_path, text, message):
    ref = reference()
    path = tmp_path / "map.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(outside.OutsideDataError, match=message):
        outside.read_map(path, set(ref.departments), set(ref.categories))


def test_a_missing_column_names_the_columns_there_are(trained, label_map):
    with pytest.raises(outside.OutsideDataError, match="no column 正文.*留言详情"):
        outside.evaluate_csv(trained.model, DATA / "board_messages.csv", "正文", "一级标签", label_map)


def test_a_gb18030_tab_separated_file_reads_the_same(trained, label_map, tmp_path):
    text = (DATA / "board_messages.csv").read_text(encoding="utf-8")
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    csv.writer(out, delimiter="\t").writerows(rows)
    path = tmp_path / "board.tsv"
    path.write_bytes(out.getvalue().encode("gb18030"))
    r = outside.evaluate_csv(trained.model, path, "留言详情", "一级标签", label_map)
    assert (r.mapped, r.total) == (12, 13)
