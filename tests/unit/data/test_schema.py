"""The hand-written migrations 0002_data (and the data tables of later ones) match the tables the code declares."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from twonets.data import tables
from twonets.schema import metadata

MINE = {t.name for t in tables.metadata.sorted_tables if t.name.startswith(("data_", "audit_"))}


def _table_of(diff) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None:
            return table.name
        if isinstance(part, str) and part in MINE:
            return part
        if name in MINE:
            return name
    return None


def test_migration_matches_metadata(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(ctx, metadata)
    mine = [d for d in diffs if _table_of(d) in MINE]
    assert mine == []
    assert len(MINE) == 14  # 0009_benefits_policies adds data_peer_nonce (cross-region replay guard)
