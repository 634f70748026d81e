"""rating versions (corrections, voids) and the campaign's small-sample threshold

Revision ID: 6a1e0b2c9d4f
Revises: 0e1b8222968f
Create Date: 2026-11-25 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6a1e0b2c9d4f'
down_revision = '0e1b8222968f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('min_ratings', sa.Integer(), server_default='30',
                                      nullable=False))
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replaces', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('is_void', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('void_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('superseded_by', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('superseded_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_responses_replaces'), ['replaces'], unique=False)


def downgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_responses_replaces'))
        for column in ('superseded_at', 'superseded_by', 'void_reason', 'is_void', 'replaces'):
            batch_op.drop_column(column)
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('min_ratings')
