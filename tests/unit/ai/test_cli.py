"""`twonets ai train` and `twonets ai evaluate`, end to end on a small generated set."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from twonets.cli import app

DATA = Path(__file__).parents[2] / "data" / "ai"


def test_train_then_evaluate_on_the_test_split_and_on_an_outside_csv(tmp_path):
    runner = CliRunner()
    model = tmp_path / "routing.skops"
    r = runner.invoke(app, ["ai", "train", "--per-category", "12", "--seed", "4", "--out", str(model), "--no-corrections",
                            "--json"])
    assert r.exit_code == 0, r.output
    trained = json.loads(r.stdout.strip().splitlines()[-1])
    assert trained["rows"] > 0 and trained["sizes"]["train"] > trained["sizes"]["test"] > 0
    r = runner.invoke(app, ["ai", "evaluate", "--model", str(model), "--json"])
    assert r.exit_code == 0, r.output
    again = json.loads(r.stdout)
    # evaluating the saved model regenerates the same never-trained-on test split
    assert (again["rows"], again["accuracy"], again["macro_f1"]) == (trained["rows"], trained["accuracy"], trained["macro_f1"])
    r = runner.invoke(app, ["ai", "evaluate", "--model", str(model)])
    for label in ("accuracy (category):", "macro-F1:", "top-3 accuracy:", "auto-routed share at threshold",
                  "wrong department among auto-routed:", "worst-confused pairs"):
        assert label in r.stdout
    r = runner.invoke(app, ["ai", "evaluate", "--model", str(model), "--csv", str(DATA / "board_messages.csv"),
                            "--text-col", "留言详情", "--label-col", "一级标签", "--label-map", str(DATA / "board_map.yaml")])
    assert r.exit_code == 0, r.output
    assert "rows mapped: 12 of 13" in r.stdout and "accuracy (department):" in r.stdout


def test_evaluate_says_what_is_wrong(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["ai", "evaluate", "--model", str(tmp_path / "none.skops")])
    assert r.exit_code == 2 and "twonets ai train" in r.output
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"junk")
    r = runner.invoke(app, ["ai", "evaluate", "--model", str(bad)])
    assert r.exit_code == 2 and "not a skops model file" in r.output


def test_calibrate_chooses_the_threshold_on_real_labelled_demands_and_evaluate_says_so(tmp_path):
    runner = CliRunner()
    model = tmp_path / "routing.skops"
    assert runner.invoke(app, ["ai", "train", "--per-category", "12", "--out", str(model), "--no-corrections"]).exit_code == 0
    args = ["--csv", str(DATA / "board_messages.csv"), "--text-col", "留言详情", "--label-col", "一级标签",
            "--label-map", str(DATA / "board_map.yaml"), "--model", str(model)]
    r = runner.invoke(app, ["ai", "calibrate", *args, "--json"])
    assert r.exit_code == 0, r.output
    evidence = json.loads(r.stdout)
    assert evidence["rows"] == 12 and evidence["total"] == 13 and 0 <= evidence["threshold"] <= 1
    r = runner.invoke(app, ["ai", "evaluate", *args, "--json"])
    out = json.loads(r.stdout)
    assert round(out["threshold"], 4) == evidence["threshold"] and out["threshold_chosen_on_this_file"] is True
    assert "not an honest estimate" in " ".join(r.output.split())
