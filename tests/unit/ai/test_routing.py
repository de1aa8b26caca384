"""The router: calibrated suggestions with reasons, a threshold from held-out data, skops files."""

from __future__ import annotations

import fractions

import numpy as np
import pytest
import skops.io as sio

from twonets.ai import routing, store
from twonets.ai.evaluation import evaluate
from twonets.ai.routing import choose_threshold


def test_suggestions_are_probabilities_with_departments_and_reasons_from_the_text(trained):
    m = trained.model
    text = "公司老板拖欠了我们三个月的工资，找他人也找不到，劳动合同也没签"
    s = m.suggest(text)
    assert s.category == "wage_arrears" and s.department == "renshe"
    assert len(s.categories) == 3 and s.categories[0].probability >= s.categories[1].probability
    assert 0 < s.categories[0].probability <= 1 and s.departments[0].probability >= s.categories[0].probability - 1e-9
    assert sum(m.probabilities([text])[0]) == pytest.approx(1.0)
    assert s.reasons and all(r in text.lower() for r in s.reasons)
    assert s.auto_route == (s.departments[0].probability >= m.threshold)


def test_threshold_keeps_wrong_routing_under_the_allowed_share():
    conf = np.array([0.99, 0.98, 0.97, 0.9, 0.8, 0.7, 0.6])
    right = np.array([True, True, True, True, False, True, False])
    t = choose_threshold(conf, right, 0.2)
    assert t == 0.7  # 1 wrong in 6 at or above 0.7; 2 in 7 below it
    assert choose_threshold(conf, right, 0.0) == 0.9
    assert choose_threshold(np.array([0.9]), np.array([False]), 0.05) == 1.0  # nothing safe: nothing auto-routed


def test_the_test_split_is_scored_and_wrong_routing_is_measured(trained):
    r = trained.test
    assert r.rows >= 40 * 5
    assert 0 <= r.accuracy <= r.top3 <= 1
    # far above chance (1/47) on statements never trained on
    assert r.accuracy > 0.25 and r.top3 > 0.5
    assert 0 <= r.auto_share <= 1
    assert r.confused and all(t != p for t, p, _ in r.confused)


def test_calibration_comes_from_data_the_model_was_not_fitted_on(trained):
    info = trained.model.info
    assert info["dev_rows"] > 0 and info["temperature"] > 0
    assert info["test"]["rows"] == trained.test.rows


def test_a_saved_model_loads_and_answers_the_same(trained, model_file, taxonomy):
    m = routing.load(model_file, taxonomy)
    text = "楼下饭店的油烟直排，熏得窗户都不敢开"
    assert m.suggest(text).as_dict() == trained.model.suggest(text).as_dict()


def test_a_file_with_other_types_is_refused_before_loading(tmp_path):
    path = tmp_path / "evil.skops"
    sio.dump({"format": store.FORMAT, "thing": fractions.Fraction(1, 3)}, path)
    with pytest.raises(store.ModelFileError, match="refused"):
        store.load(path)


def test_a_model_of_another_version_or_format_is_refused(tmp_path, trained, monkeypatch):
    path = tmp_path / "m.skops"
    routing.save(trained.model, path)
    monkeypatch.setattr(store.sklearn, "__version__", "0.0.1")
    with pytest.raises(store.ModelFileError, match="scikit-learn .* Retrain"):
        routing.load(path)
    monkeypatch.undo()
    store.save(path, {"x": 1}, kind="something-else/9")
    with pytest.raises(store.ModelFileError, match="format"):
        routing.load(path)
    (tmp_path / "junk.skops").write_bytes(b"not a zip")
    with pytest.raises(store.ModelFileError, match="not a skops"):
        routing.load(tmp_path / "junk.skops")
    with pytest.raises(store.ModelFileError, match="twonets ai train"):
        routing.load(tmp_path / "missing.skops")


def test_a_model_whose_categories_left_the_taxonomy_is_refused(model_file, taxonomy):
    smaller = {k: v for k, v in taxonomy.items() if k != "wage_arrears"}
    with pytest.raises(store.ModelFileError, match="wage_arrears"):
        routing.load(model_file, smaller)


def test_department_level_scoring_accepts_any_of_a_label_s_departments(trained):
    m = trained.model
    texts = ["公司拖欠工资三个月不发", "楼上邻居半夜蹦迪吵得睡不着"]
    wide = evaluate(m, texts, [set(m.departments.values())] * 2, ["x", "x"], level="department")
    assert wide.accuracy == 1.0 and wide.department_accuracy == 1.0
    narrow = evaluate(m, texts, [{"caizheng"}, {"caizheng"}], ["x", "x"], level="department")
    assert narrow.accuracy < 1.0


def test_the_fast_single_demand_path_equals_scikit_learn(trained):
    m = trained.model
    for text in ("楼下饭店油烟直排", "Hello, the bus comes only every forty minutes.", "", "尊敬的领导：您好！\n\n物业不作为。"):
        fast = m.vector(text)
        slow = m.vectorizer.transform([text])
        assert np.allclose(fast.toarray(), slow.toarray(), atol=1e-6)
        margins = fast.data @ m._coef_t[fast.indices] + m._intercept
        assert np.allclose(margins, m.classifier.decision_function(slow)[0], atol=1e-5)
