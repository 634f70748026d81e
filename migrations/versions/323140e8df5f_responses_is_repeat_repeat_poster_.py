"""responses.is_repeat: repeat poster ratings are kept but not tallied

Revision ID: 323140e8df5f
Revises: 1f0a353a7633
Create Date: 2026-11-23 16:44:05.033413

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '323140e8df5f'
down_revision = '1f0a353a7633'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_repeat', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    # Responses already flagged as a device's repeat stop counting, as new ones do.
    op.execute("UPDATE responses SET is_repeat = true "
               "WHERE CAST(flags AS TEXT) LIKE '%repeat_device%'")


def downgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_column('is_repeat')
