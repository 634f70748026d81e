"""archived units and categories

Revision ID: b7e2c4a19d05
Revises: b7e2c9a1d4f3
Create Date: 2026-11-25 13:35:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7e2c4a19d05'
down_revision = 'b7e2c9a1d4f3'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable columns without defaults: SQLite adds them in place, no table rebuild.
    for table in ('categories', 'units'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('archived_at', sa.DateTime(timezone=True),
                                          nullable=True))


def downgrade():
    for table in ('units', 'categories'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('archived_at')
