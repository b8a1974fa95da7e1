"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None

# The first barua release that knows this version: an older barua finding it names it.
barua_version = "FILL IN"


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}
