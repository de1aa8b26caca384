"""Import a district's published matter list (政务服务事项清单), as provincial platforms publish it.

    listed = read_file(path)                      # rows, checked; a bad file names line and column
    mapping = load_mapping(map_path)              # its departments -> ours, task_type -> matter type
    summary = import_list(session, listed, mapping)

The format: UTF-8 CSV with one header row and the columns `department, group, name, item_code,
task_type, dept_code` (one row per matter; `item_code` the national item code, 事项编码;
`task_type` the national type code). Extra columns are ignored.

Rules of the import:
- The national item code is the key: a re-import updates the matter of that code (name,
  department, type) and keeps its local code; a new item gets the next local code of its
  department from 1001 up (`MINZHENG-1001`), apart from the written-out ones (…-001 to -999).
- A written-out matter is never overwritten: a listed matter whose item code is that of a
  written-out matter, or whose name is a written-out matter's name, is left to it and reported
  under `written_out`.
- Departments are mapped by the mapping file only; a department mapped to null, or not in the
  file, is not imported and is reported under `unmapped` with its row count. A task type the
  mapping does not name is an error of the file.
- Imported matters have names, department and codes only (`full: false`): no form, materials,
  rule or time limits; they are listed and searchable, their guide says that the district has
  not written them out yet, and applications to them are refused until it does. The list has
  no English names: `name_en` repeats the Chinese name until someone translates it.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core import definitions
from twonets.core.calendar import utcnow
from twonets.core.errors import InvalidInput
from twonets.core.i18n import Msg
from twonets.govservices import matters
from twonets.govservices.models import Matter, MatterType
from twonets.govservices.tables import svc_matter

COLUMNS = ("department", "group", "name", "item_code", "task_type", "dept_code")
REQUIRED = ("department", "name", "item_code", "task_type")
GUANGAN_MAPPING = Path(__file__).with_name("definitions") / "department-map-guangan.yaml"
FIRST_IMPORTED = 1001
UNGROUPED = "未分类"
_LOCAL = re.compile(r"^([A-Z][A-Z0-9]*)-(\d{4})$")


class Mapping(BaseModel):
    """A mapping file: the list's department names -> department codes (null: none here), and
    the list's task types -> matter types."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    departments: dict[str, str | None]
    task_types: dict[int, MatterType]


def load_mapping(path: Path) -> Mapping:
    """The mapping file, checked: every department code named is one of the district's."""
    mapping = definitions.load(path, Mapping)
    known = matters.department_codes()
    for name, code in mapping.departments.items():
        if code is not None and code not in known:
            raise definitions.DefinitionError(path, None, f"{name}: unknown department {code!r}")
    return mapping


@dataclass(frozen=True)
class ListedMatter:
    line: int
    department: str
    group: str
    name: str
    item_code: str
    task_type: int


def _bad(line: int, index: int, column: str, reason: str, more: list[dict[str, Any]] | None = None) -> InvalidInput:
    first = {"field": f"rows[{index}].{column}", "message": reason, "line": line}
    return InvalidInput(Msg("line {line}, column {column}: {reason}", line=line, column=column, reason=reason), errors=[first, *(more or [])][:50])


def read(text: str) -> list[ListedMatter]:
    """The rows of a matter list; the first bad cell raises InvalidInput naming line and column."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput(
            Msg("line 1: the header lacks column(s) {missing} (expected {columns})", missing=', '.join(missing), columns=', '.join(COLUMNS)),
            errors=[{"field": c, "message": Msg("missing column"), "line": 1} for c in missing],
        )
    reader.fieldnames = header
    out: list[ListedMatter] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(reader):
        line = reader.line_num
        if None in row:
            raise _bad(line, i, "(end)", Msg("{values} values for {columns} columns", values=len(header) + len(row[None]), columns=len(header)))
        cells = {k: (row.get(k) or "").strip() for k in header}
        for col in REQUIRED:
            if not cells[col]:
                raise _bad(line, i, col, Msg("empty"))
        if not cells["task_type"].isdigit():
            raise _bad(line, i, "task_type", Msg("{value!r} is not a task type code (a number)", value=cells["task_type"]))
        if len(cells["item_code"]) > 80:
            raise _bad(line, i, "item_code", Msg("longer than {most} characters", most=80))
        if len(cells["name"]) > 200:
            raise _bad(line, i, "name", Msg("longer than {most} characters", most=200))
        if cells["item_code"] in seen:
            raise _bad(line, i, "item_code", Msg("{item_code} is listed twice (first on line {first})", item_code=cells["item_code"],
                                                               first=seen[cells["item_code"]]))
        seen[cells["item_code"]] = line
        out.append(ListedMatter(line, cells["department"], cells.get("group", ""), cells["name"], cells["item_code"],
                                int(cells["task_type"])))
    if not out:
        raise InvalidInput(Msg("the file lists no matters (a header and no rows)"))
    return out


def read_file(path: Path) -> list[ListedMatter]:
    """`read` of a file; not UTF-8 or unreadable is an InvalidInput naming the line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(Msg("cannot read {path}: {reason}", path=path, reason=exc.strerror or exc)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInput(Msg("line {line}: not UTF-8 (byte {start}); save the list as UTF-8", line=line, start=exc.start),
                           errors=[{"field": "file", "message": Msg("not UTF-8"), "line": line}]) from None
    return read(text)


def import_list(
    session: Session, listed: list[ListedMatter], mapping: Mapping, *, at: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Add or update the listed matters in the catalogue (see the module's rules); returns the
    summary: rows, created, updated, unchanged, written_out, unmapped {department: rows},
    imported (matters of this list now in the catalogue) and catalogue (all matters)."""
    at = at or utcnow()
    for r in listed:
        if r.task_type not in mapping.task_types:
            raise _bad(r.line, listed.index(r), "task_type", Msg("task type {task_type} has no matter type in the mapping file", task_type=r.task_type))
    by_item: dict[str, str] = {}
    written_items: dict[str, str] = {}
    written_names: dict[str, str] = {}
    numbers: Counter[str] = Counter()
    used: set[str] = set()
    for code, full, item_code, name in session.execute(
        select(svc_matter.c.code, svc_matter.c.full, svc_matter.c.item_code, svc_matter.c.name_zh)
    ):
        used.add(code)
        if full:
            written_names.setdefault(name, code)
            if item_code:
                written_items[item_code] = code
        elif item_code:
            by_item[item_code] = code
        m = _LOCAL.match(code)
        if m:
            numbers[m.group(1)] = max(numbers[m.group(1)], int(m.group(2)))
    unmapped: Counter[str] = Counter()
    written_out: list[dict[str, str]] = []
    items: list[Matter] = []
    for n, r in enumerate(listed, 1):
        department = mapping.departments.get(r.department)
        if department is None:
            unmapped[r.department] += 1
        elif r.item_code in written_items or r.name in written_names:
            written_out.append({"item_code": r.item_code, "name": r.name,
                                "matter": written_items.get(r.item_code) or written_names[r.name]})
        else:
            code = by_item.get(r.item_code) or _next_code(department, numbers, used)
            items.append(Matter(
                code=code, name_zh=r.name, name_en=r.name, department=department, type=mapping.task_types[r.task_type],
                statutory_days=0, promised_days=0, keywords=[r.group] if r.group and r.group != UNGROUPED else [],
                item_code=r.item_code, listed_department=r.department, full=False,
            ))
        if progress and n % 100 == 0:
            progress(100)
    if progress and len(listed) % 100:
        progress(len(listed) % 100)
    stored = matters.upsert(session, items, at=at)
    return {
        "rows": len(listed),
        "created": stored["created"],
        "updated": stored["updated"],
        "unchanged": len(items) - stored["created"] - stored["updated"],
        "written_out": written_out,
        "unmapped": dict(sorted(unmapped.items(), key=lambda kv: (-kv[1], kv[0]))),
        "imported": len(items),
        "catalogue": matters.count(session),
    }


def _next_code(department: str, numbers: Counter[str], used: set[str]) -> str:
    prefix = department.upper()
    n = max(numbers[prefix], FIRST_IMPORTED - 1)
    while True:
        n += 1
        if n > 9999:
            raise InvalidInput(Msg("department {department} has no local matter code left (over {most} imported)", department=department, most=9999 - FIRST_IMPORTED + 1))
        code = f"{prefix}-{n}"
        if code not in used:
            numbers[prefix] = n
            used.add(code)
            return code


def import_file(
    session: Session, path: Path, mapping_path: Path, *, at: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Read, map and import a matter-list file (the CLI and the demo both come through here)."""
    return import_list(session, read_file(path), load_mapping(mapping_path), at=at, progress=progress)
