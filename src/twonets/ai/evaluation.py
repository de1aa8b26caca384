"""Scoring the router: accuracy, macro-F1, top-3, the auto-route share and its error rate,
the worst-confused pairs. Works on the generator's test split and on outside labelled data,
where each row's label stands for a set of acceptable departments or categories."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import f1_score

from twonets.ai.routing import RoutingModel


@dataclass(frozen=True)
class Report:
    rows: int
    accuracy: float  # the top answer is right
    macro_f1: float
    top3: float  # a right answer among the top three
    department_accuracy: float
    auto_share: float  # share of rows at or above the threshold
    auto_error: float  # wrong among those (nan when none)
    threshold: float
    confused: list[tuple[str, str, int]]  # (truth, predicted, count), worst first
    level: str = "category"  # what `accuracy` judges: category or department
    mapped: int | None = None  # outside data: rows whose label the map knows…
    total: int | None = None  # …of the rows in the file
    unmapped_labels: list[str] | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def evaluate(model: RoutingModel, texts: Sequence[str], accepted: Sequence[set[str]], truth: Sequence[str], *,
             level: str, batch: int = 2000) -> Report:
    """`accepted[i]`: the codes (categories or departments, per `level`) that count as right for
    row i; `truth[i]`: its label, for macro-F1 and the confusion pairs."""
    if not texts:
        raise ValueError("nothing to evaluate")
    probs = np.vstack([model.probabilities(texts[i:i + batch]) for i in range(0, len(texts), batch)])
    names, dp = model.department_probabilities(probs)
    if level == "department":
        codes, scores = np.array(names), dp
    else:
        codes, scores = np.array(model.classes), probs
    order = np.argsort(-scores, axis=1)
    top1 = codes[order[:, 0]]
    right = np.array([p in a for p, a in zip(top1, accepted)])
    top3 = np.array([bool(set(codes[order[i, :3]]) & accepted[i]) for i in range(len(texts))])
    dept_top = np.array(names)[dp.argmax(axis=1)]
    dept_ok = np.array([_dept_ok(model, level, d, a) for d, a in zip(dept_top, accepted)])
    auto = dp.max(axis=1) >= model.threshold
    # Predicted label in the truth's vocabulary: the truth when right, else the prediction itself.
    pred_label = [t if ok else str(p) for t, ok, p in zip(truth, right, top1)]
    confused = Counter((t, p) for t, p, ok in zip(truth, pred_label, right) if not ok).most_common(10)
    return Report(
        rows=len(texts), accuracy=float(right.mean()),
        macro_f1=float(f1_score(list(truth), pred_label, labels=sorted(set(truth)), average="macro", zero_division=0)),
        top3=float(top3.mean()), department_accuracy=float(dept_ok.mean()),
        auto_share=float(auto.mean()), auto_error=float((~dept_ok[auto]).mean()) if auto.any() else float("nan"),
        threshold=model.threshold, confused=[(t, p, n) for (t, p), n in confused], level=level,
    )


def _dept_ok(model: RoutingModel, level: str, dept: str, accepted: set[str]) -> bool:
    if level == "department":
        return dept in accepted
    return dept in {model.departments.get(c) for c in accepted}


def lines(r: Report) -> list[str]:
    out = []
    if r.mapped is not None:
        out.append(f"rows mapped: {r.mapped} of {r.total}"
                   + (f" (labels not in the map: {', '.join(r.unmapped_labels or [])})" if r.unmapped_labels else ""))
    out += [f"rows scored: {r.rows}",
            f"accuracy ({r.level}): {r.accuracy:.3f}", f"macro-F1: {r.macro_f1:.3f}", f"top-3 accuracy: {r.top3:.3f}",
            f"department accuracy: {r.department_accuracy:.3f}",
            f"auto-routed share at threshold {r.threshold:.3f}: {r.auto_share:.3f}",
            f"wrong department among auto-routed: {r.auto_error:.3f}" if r.auto_share else "wrong department among auto-routed: none auto-routed"]
    if r.confused:
        out.append("worst-confused pairs (truth → predicted: count):")
        out += [f"  {t} → {p}: {n}" for t, p, n in r.confused]
    return out
