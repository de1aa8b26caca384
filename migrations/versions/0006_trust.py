"""Trust: one grant per sharing request; audit_entry is append-only on PostgreSQL.

- `uq_data_grant_request_id`: an approval makes exactly one grant. Before it, racing
  approvals could make several grants for one request, and revoking one left the others
  active: every grant of a revoked request is revoked now, then the extra grants of a request
  are removed, keeping the first (their creation stays recorded in the audit chain).
- PostgreSQL: a trigger refuses UPDATE and DELETE on `audit_entry`. Whoever owns the table
  can still disable or drop the trigger, or TRUNCATE (the tests' fixtures do): it stops
  mistakes and ordinary writers, not the owner; `twonets audit verify` with the anchor file
  in the key directory catches the rest.

Revision ID: 0006_trust
Revises: 0005_matter_item_code
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from twonets.core.tables import UtcDateTime as UTC

revision = "0006_trust"
down_revision = "0005_matter_item_code"
branch_labels = None
depends_on = None

GUARD_FN = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    grant = sa.table("data_grant", sa.column("request_id", sa.Integer()), sa.column("revoked_at", UTC()),
                     sa.column("revoked_reason", sa.Text()))
    request = sa.table("data_share_request", sa.column("id", sa.Integer()), sa.column("status", sa.String()))
    op.get_bind().execute(
        sa.update(grant)
        .where(grant.c.revoked_at.is_(None), grant.c.request_id.in_(sa.select(request.c.id).where(request.c.status == "revoked")))
        .values(revoked_at=datetime.now(timezone.utc), revoked_reason="its request was revoked (migration 0004_trust)")
    )
    op.execute(
        "DELETE FROM data_grant WHERE id NOT IN (SELECT min(id) FROM data_grant GROUP BY request_id)"
    )
    with op.batch_alter_table("data_grant") as batch:
        batch.create_unique_constraint(op.f("uq_data_grant_request_id"), ["request_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(GUARD_FN)
        op.execute(
            "CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_change ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS audit_entry_append_only()")
    with op.batch_alter_table("data_grant") as batch:
        batch.drop_constraint(op.f("uq_data_grant_request_id"), type_="unique")
