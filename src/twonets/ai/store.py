"""Saving and loading trained models with skops (never pickle).

A file is a skops archive of a plain dict: the format version, the scikit-learn version it was
trained with, the fitted parts and their facts. Loading checks, before building anything, that
every type in the file is one a twonets model is made of (`TRUSTED`): a file with any other type
is refused, as is one written in another format or with another scikit-learn version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sklearn
import skops.io as sio

FORMAT = "twonets-routing/1"


class ModelFileError(Exception):
    """The model file cannot be used; the message says why and what to do."""


# Types a twonets model may hold, beyond skops' defaults (builtins, numpy, scikit-learn estimators).
TRUSTED = frozenset({
    "builtins.dict", "builtins.list", "builtins.str", "builtins.float", "builtins.int", "builtins.tuple",
    "numpy.float32", "numpy.float64", "numpy.int64", "numpy.dtype", "numpy.ndarray",
    "scipy.sparse._csr.csr_matrix", "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer", "sklearn.svm._classes.LinearSVC",
    "bm25s.BM25",
})


def save(path: str | Path, parts: dict[str, Any], *, kind: str = FORMAT) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": kind, "sklearn": sklearn.__version__, **parts}
    tmp = path.with_suffix(path.suffix + ".tmp")
    sio.dump(payload, tmp)
    tmp.replace(path)
    return path


def load(path: str | Path, *, kind: str = FORMAT) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"No model at {path}. Train one first: twonets ai train --out {path}")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # not a skops archive at all
        raise ModelFileError(f"{path} is not a skops model file ({exc.__class__.__name__}). Retrain: twonets ai train") from None
    refused = sorted(t for t in untrusted if t not in TRUSTED)
    if refused:
        raise ModelFileError(f"{path} holds types a twonets model does not use and is refused: {', '.join(refused)}. "
                             "Only load models trained by `twonets ai train`.")
    payload = sio.load(path, trusted=sorted(set(untrusted)))
    if not isinstance(payload, dict) or payload.get("format") != kind:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ModelFileError(f"{path} is a model of format {found!r}, this twonets reads {kind!r}. Retrain: twonets ai train")
    if payload.get("sklearn") != sklearn.__version__:
        raise ModelFileError(f"{path} was trained with scikit-learn {payload.get('sklearn')}, this install has "
                             f"{sklearn.__version__}. Retrain: twonets ai train")
    return payload
