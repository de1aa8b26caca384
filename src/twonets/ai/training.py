"""Training the router end to end: generate the splits, add the dispatchers' corrections to the
training rows, fit, and score the never-trained-on test split."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from twonets.ai import routing
from twonets.ai.evaluation import Report, evaluate
from twonets.ai.generator import Demand, Generator, normalise, split_overlap


@dataclass(frozen=True)
class Trained:
    model: routing.RoutingModel
    test: Report
    sizes: dict[str, int]


def build_sets(departments: Mapping[str, str], places: Sequence[str], per_category: int, seed: int = 0,
               corrections: Sequence[tuple[str, str]] = ()) -> dict[str, list[Demand]]:
    """The generator's train / dev / test splits, corrections (text, category) added to train.
    A correction whose text is in the dev or test split is left out, so evaluation rows never
    appear in training."""
    sets = Generator(departments, places).splits(per_category, seed)
    held = {d.key for d in sets["dev"] + sets["test"]}
    extra = [Demand(text, category, "train") for text, category in corrections
             if category in departments and normalise(text) not in held]
    sets["train"] = sets["train"] + extra
    if split_overlap(sets["train"], sets["test"]) or split_overlap(sets["train"], sets["dev"]):
        raise AssertionError("an evaluation row is in the training rows")
    return sets


def train_router(departments: Mapping[str, str], places: Sequence[str], *, per_category: int = 200, seed: int = 0,
                 corrections: Sequence[tuple[str, str]] = (), max_error: float = routing.DEFAULT_MAX_ERROR) -> Trained:
    sets = build_sets(departments, places, per_category, seed, corrections)
    tr, dev, test = sets["train"], sets["dev"], sets["test"]
    model = routing.train([d.text for d in tr], [d.category for d in tr], departments,
                          [d.text for d in dev], [d.category for d in dev], max_error=max_error,
                          info={"trained_at": datetime.now(UTC).isoformat(timespec="seconds"), "seed": seed,
                                "per_category": per_category, "corrections": len(corrections)})
    report = evaluate(model, [d.text for d in test], [{d.category} for d in test], [d.category for d in test],
                      level="category")
    model.info["test"] = {k: v for k, v in report.as_dict().items() if k != "confused"}
    return Trained(model, report, {k: len(v) for k, v in sets.items()})
