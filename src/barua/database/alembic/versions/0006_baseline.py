"""the whole schema of version 6: businesses, the outbox, the web app, the relay

Revision ID: 0006
Revises:
"""

from __future__ import annotations

from alembic import op

from barua.database.legacy import bring_to_version_6

revision = "0006"
down_revision = None
branch_labels = None
depends_on = None

# The first barua release that knows this version: an older barua finding it names it.
barua_version = "0.1.0"


def upgrade() -> None:
    # An empty database gets every table; one an earlier barua left at version 1 to 6 gets
    # the steps it lacks, with its rows untouched (see barua.database.legacy).
    bring_to_version_6(op.get_bind())
