"""Loading definitions (YAML validated by Pydantic). A bad definition stops the start with the
file, the line and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class DefinitionError(Exception):
    def __init__(self, path: Path, line: int | None, reason: str):
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {reason}")
        self.path, self.line, self.reason = path, line, reason


def _line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """Follow a Pydantic error location through the YAML node tree to a 1-based line."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        node, line = nxt, nxt.start_mark.line + 1
    return line


# libyaml when installed (the wheels ship it): ten times the pure-Python parser at every start.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(path: Path, model: type[M]) -> M:
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DefinitionError(path, mark.line + 1 if mark else None, str(exc)) from None
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        reason = f"{'.'.join(map(str, loc))}: {err['msg']}"
        node = yaml.compose(text, Loader=_Loader)  # the node tree only to name the line
        raise DefinitionError(path, _line_of(node, loc), reason) from None
