"""SQL building helpers shared by the repositories and query models.

`one_of(column, values)` is `column IN ('a', 'b', …)` with the values written into the statement.
`column.in_(values)` binds them as an *expanding* parameter, which SQLAlchemy re-renders on every
execution (about 0.2 ms per statement on the order-creation path); a fixed set of identifiers
such as order states can be part of the cached statement instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import ColumnElement, literal_column

_IDENTIFIER = re.compile(r"^[A-Za-z0-9_]+$")


def _literals(values: Iterable[str]) -> list[ColumnElement]:
    out = []
    for v in sorted(set(values)):
        if not _IDENTIFIER.match(v):  # only plain identifiers are written into SQL
            raise ValueError(f"not a plain identifier: {v!r}")
        out.append(literal_column(f"'{v}'"))
    return out


def one_of(column: ColumnElement, values: Iterable[str]) -> ColumnElement[bool]:
    """`column IN (…)` over a fixed set of plain identifiers, rendered once with the statement."""
    return column.in_(_literals(values))


def none_of(column: ColumnElement, values: Iterable[str]) -> ColumnElement[bool]:
    """`column NOT IN (…)` over a fixed set of plain identifiers, rendered once with the statement."""
    return column.not_in(_literals(values))
