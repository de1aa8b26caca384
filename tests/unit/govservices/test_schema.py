"""The hand-written migrations of the services (0003_services, 0009_benefits_*, 0009_workbench_hall_ticket) match the tables the code declares."""

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
    assert len(MINE) == 13  # 0003_services: 7; 0009_workbench: svc_hall_ticket; 0009_benefits_policies: svc_benefit(_event), svc_bundle_case(_event), svc_crossregion
