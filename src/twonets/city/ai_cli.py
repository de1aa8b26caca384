"""`twonets ai train` and `twonets ai evaluate`: the 12345 router (issue 14).

    twonets ai train                      # generate, fit, save var/models/routing.skops, score the test split
    twonets ai evaluate                   # the saved model on the never-trained-on test split
    twonets ai evaluate --csv posts.csv --text-col 留言详情 --label-col 一级分类 --label-map map.yaml

Exit codes: 0 fine, 2 bad input (a missing or refused model, an unusable CSV or map).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from twonets.ai import evaluation, outside, routing, training
from twonets.ai.store import ModelFileError
from twonets.city import gazetteer, triage
from twonets.city.reference import reference

ai_app = typer.Typer(help="AI assistance: 12345 demand routing (智能派单).", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)
DB_OPTION = typer.Option(None, "--database-url", help="Defaults to TWONETS_DATABASE_URL.")


@ai_app.callback()
def _group() -> None:
    """A command group."""


def _fail(message: str) -> None:
    console.print(f"[red]{message}[/]")
    raise typer.Exit(2)


def _corrections(database_url: Optional[str]) -> list[tuple[str, str]]:
    """The dispatchers' corrections, when a database with them answers."""
    from sqlalchemy.exc import SQLAlchemyError

    from twonets.ai import feedback
    from twonets.core.db import DatabaseMissing, default_engine, make_engine, unit_of_work

    try:
        with unit_of_work(make_engine(database_url) if database_url else default_engine()) as session:
            return feedback.corrections(session)
    except (SQLAlchemyError, DatabaseMissing) as exc:
        console.print(f"[yellow]no corrections read ({exc.__class__.__name__}); training on generated demands only[/]")
        return []


def _print(report: evaluation.Report, as_json: bool, extra: dict | None = None) -> None:
    if as_json:
        data = report.as_dict() | (extra or {})
        typer.echo(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in data.items()},
                              ensure_ascii=False))
    else:
        for line in evaluation.lines(report):
            typer.echo(line)


@ai_app.command("train")
def train(out: Optional[Path] = typer.Option(None, help="Where to save the model (default: the model directory)."),
          per_category: int = typer.Option(200, min=5, help="Generated training demands per category."),
          seed: int = typer.Option(0), max_error: float = typer.Option(routing.DEFAULT_MAX_ERROR, min=0.0, max=0.5,
                                                                        help="Wrong routing allowed among auto-routed demands."),
          corrections: bool = typer.Option(True, help="Add the dispatchers' stored corrections to the training rows."),
          as_json: bool = typer.Option(False, "--json"), database_url: Optional[str] = DB_OPTION) -> None:
    """Generate demands, fit the router, save it, and score it on the test split."""
    extra = _corrections(database_url) if corrections else []
    with console.status("training the router…"):
        trained = training.train_router(triage.taxonomy(), gazetteer.road_names(), per_category=per_category, seed=seed,
                                        corrections=extra, max_error=max_error)
    path = out or triage.model_path()
    routing.save(trained.model, path)
    console.print(f"[green]saved {path}[/] (train {trained.sizes['train']} rows incl. {len(extra)} corrections, "
                  f"dev {trained.sizes['dev']}, test {trained.sizes['test']})")
    _print(trained.test, as_json, {"model": str(path), "sizes": trained.sizes})


@ai_app.command("evaluate")
def evaluate(model: Optional[Path] = typer.Option(None, help="The model file (default: the model directory's)."),
             csv: Optional[Path] = typer.Option(None, "--csv", help="Outside labelled data (CSV, UTF-8)."),
             text_col: Optional[str] = typer.Option(None, help="The CSV column with the message."),
             label_col: Optional[str] = typer.Option(None, help="The CSV column with the label."),
             label_map: Optional[Path] = typer.Option(None, help="YAML: label → departments / categories."),
             as_json: bool = typer.Option(False, "--json")) -> None:
    """Score a saved model: on the generated test split, or on an outside labelled CSV."""
    path = model or triage.model_path()
    try:
        m = routing.load(path, triage.taxonomy())
    except ModelFileError as exc:
        _fail(str(exc))
    if csv is None:
        sets = training.build_sets(m.departments, gazetteer.road_names(), int(m.info.get("per_category", 200)),
                                   int(m.info.get("seed", 0)))
        test = sets["test"]
        report = evaluation.evaluate(m, [d.text for d in test], [{d.category} for d in test], [d.category for d in test],
                                     level="category")
        _print(report, as_json)
        return
    if not (text_col and label_col and label_map):
        _fail("--csv needs --text-col, --label-col and --label-map")
    ref = reference()
    try:
        lm = outside.read_map(label_map, set(ref.departments), set(ref.categories))
        report = outside.evaluate_csv(m, csv, text_col, label_col, lm)
    except outside.OutsideDataError as exc:
        _fail(str(exc))
    if outside.calibrated_on(m, csv):
        console.print("[yellow]the auto-route threshold was chosen on this file: its auto-route figures are not "
                      "an honest estimate; evaluate on other labelled demands[/]")
    _print(report, as_json, {"threshold_chosen_on_this_file": outside.calibrated_on(m, csv)})


@ai_app.command("calibrate")
def calibrate(csv: Path = typer.Option(..., "--csv", help="The district's own labelled demands (CSV, UTF-8 or GB18030)."),
              text_col: str = typer.Option(...), label_col: str = typer.Option(...),
              label_map: Path = typer.Option(..., help="YAML: label → departments / categories."),
              model: Optional[Path] = typer.Option(None, help="The model file (default: the model directory's)."),
              max_error: float = typer.Option(routing.DEFAULT_MAX_ERROR, min=0.0, max=0.5),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """Choose the auto-route threshold on real labelled demands instead of generated ones, and save it."""
    path = model or triage.model_path()
    ref = reference()
    try:
        m = routing.load(path, triage.taxonomy())
        lm = outside.read_map(label_map, set(ref.departments), set(ref.categories))
        evidence = outside.calibrate_csv(m, csv, text_col, label_col, lm, max_error=max_error)
    except (ModelFileError, outside.OutsideDataError) as exc:
        _fail(str(exc))
    routing.save(m, path)
    if as_json:
        typer.echo(json.dumps(evidence, ensure_ascii=False))
    else:
        typer.echo(f"threshold {evidence['threshold']:.3f} from {evidence['rows']} labelled rows of {evidence['file']}: "
                   f"auto-routed {evidence['auto_share']:.3f}, wrong among them {evidence['auto_error']}")
