"""The demand generator: every category, realistic variety, and a test split never trained on."""

from __future__ import annotations

import re

from twonets.ai.generator import PATTERN, Generator, _part, phrase_bank, split_overlap
from twonets.ai.training import build_sets
from twonets.city import gazetteer


def test_every_category_of_the_taxonomy_has_demands_and_all_29_departments_are_covered(taxonomy):
    bank = phrase_bank()
    assert set(taxonomy) <= set(bank)
    assert len(set(taxonomy.values())) == 29
    for code in taxonomy:
        # enough statements that the dev and the test split each get their own
        assert len(bank[code]["cores"]) >= len(PATTERN), code


def test_evaluation_rows_never_appear_in_training(taxonomy):
    sets = build_sets(taxonomy, gazetteer.road_names(), per_category=15, seed=3)
    assert sets["test"] and sets["dev"] and sets["train"]
    assert split_overlap(sets["train"], sets["test"]) == set()
    assert split_overlap(sets["train"], sets["dev"]) == set()


def test_a_correction_that_repeats_an_evaluation_row_is_kept_out_of_training(taxonomy):
    sets = build_sets(taxonomy, gazetteer.road_names(), per_category=5, seed=3)
    leaked = sets["test"][0]
    again = build_sets(taxonomy, gazetteer.road_names(), per_category=5, seed=3,
                       corrections=[(leaked.text, leaked.category), ("楼下烧烤店油烟太大", "restaurant_fumes")])
    texts = {d.text for d in again["train"]}
    assert leaked.text not in texts and "楼下烧烤店油烟太大" in texts


def test_test_demands_are_built_from_statements_the_training_split_never_uses(taxonomy):
    bank = phrase_bank()
    g = Generator(taxonomy, gazetteer.road_names())
    train_text = "\n".join(d.text for d in g.split("train", 30, seed=2))
    for code in ("wage_arrears", "restaurant_fumes", "school_enrolment"):
        held = _part(bank[code]["cores"], "test")
        assert held and not any(core in train_text for core in held)


def test_demands_vary_the_way_people_write(taxonomy):
    demands = Generator(taxonomy, gazetteer.road_names()).split("train", 40, seed=5)
    texts = [d.text for d in demands]
    assert len(set(texts)) == len(texts)
    assert any("\n\n" in t for t in texts)  # several paragraphs
    assert any(re.search(r"[A-Za-z]{3,}", t) and re.search(r"[\u4e00-\u9fff]", t) for t in texts)  # mixed script
    assert any(not re.search(r"[\u4e00-\u9fff]", t) for t in texts)  # English
    assert any(re.search(r"\d+号|\d+弄", t) for t in texts)  # addresses
    assert max(len(t) for t in texts) > 120
