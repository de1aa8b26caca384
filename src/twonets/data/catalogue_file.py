"""The catalogue definitions file (definitions/catalogue.yaml): read with line-numbered errors, synced into the database."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.actor import SYSTEM
from twonets.data.datasets import create, load, update_entry
from twonets.data.models import DataField, DatasetPatch, DatasetSpec
from twonets.data.tables import data_dataset

DEFINITIONS = Path(__file__).with_name("definitions") / "catalogue.yaml"


class CatalogueFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    datasets: list[DatasetSpec]


class DefinitionError(ValueError):
    """A bad definition: names the file, line and reason."""


def read_definitions(path: Path = DEFINITIONS) -> list[DatasetSpec]:
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text) or {}
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return CatalogueFile.model_validate(raw).datasets
    except ValidationError as exc:
        err = exc.errors()[0]
        line = _line_of(node, err["loc"])
        where = ".".join(map(str, err["loc"]))
        raise DefinitionError(f"{path}:{line}: {where}: {err['msg']}") from exc


def _line_of(node, loc: tuple) -> int:
    """1-based line of the deepest node reachable along `loc`."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if node is None:
            break
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == part:
                    nxt = v
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def sync_definitions(session: Session, path: Path = DEFINITIONS, *, at: datetime | None = None) -> dict[str, int]:
    """Create the catalogue entries named in the definitions file that do not exist yet and
    refresh the schema of those that do (the database keeps freshness and edits made since)."""
    specs = read_definitions(path)
    created = updated = 0
    for spec in specs:
        row = session.execute(select(data_dataset.c.id).where(data_dataset.c.code == spec.code)).first()
        if row is None:
            create(session, SYSTEM, spec, at=at)
            created += 1
        else:
            current = load(session, spec.code)
            wanted = tuple(
                DataField(f.name, f.title, f.type, f.sensitivity, f.effective_mask, f.generalise) for f in spec.fields
            )
            if current.fields != wanted:
                update_entry(session, SYSTEM, spec.code, DatasetPatch(fields=spec.fields), at=at)
                updated += 1
    return {"created": created, "updated": updated, "total": len(specs)}
