"""The hand-written migrations of the services tables (0003_services, 0009 the hall's queue numbers)
match the tables the code declares."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from twonets.govservices import tables
from twonets.schema import metadata

MINE = {t.name for t in tables.metadata.sorted_tables if t.name.startswith("svc_")}


def test_migration_matches_metadata(engine):
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    mine = [d for d in diffs if any(name in str(d) for name in MINE)]
    assert mine == []
    assert len(MINE) == 8
