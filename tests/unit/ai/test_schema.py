"""The hand-written migration 0009_ai_routing matches the tables twonets.ai declares."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from twonets.ai import tables
from twonets.schema import metadata

MINE = {tables.routing_suggestion.name, tables.routing_correction.name}


def _tables_in(diff) -> set[str]:
    items = diff if isinstance(diff, list) else [diff]
    names = set()
    for item in items:
        for part in item[1:]:
            table = getattr(part, "table", None)
            names.add(table.name if table is not None else getattr(part, "name", part if isinstance(part, str) else None))
    return names


def test_migration_matches_metadata(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(ctx, metadata)
    assert [d for d in diffs if _tables_in(d) & MINE] == []
