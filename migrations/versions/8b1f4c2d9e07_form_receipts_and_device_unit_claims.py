"""form receipts (responses.receipt_issued_at, campaigns.closed_at) and device_unit_claims

Revision ID: 8b1f4c2d9e07
Revises: a3d1e0f4b7c2
Create Date: 2026-11-25 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8b1f4c2d9e07'
down_revision = 'a3d1e0f4b7c2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_issued_at', sa.DateTime(timezone=True),
                                      nullable=True))
    # Campaigns closed before this revision keep closed_at NULL: no receipt can predate them.
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('device_unit_claims',
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('response_uuid', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                            name=op.f('fk_device_unit_claims_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('device_id', 'unit_id', name=op.f('pk_device_unit_claims'))
    )
    # The poster rating that already counts for each (device, unit) holds its claim.
    op.execute(
        "INSERT INTO device_unit_claims (device_id, unit_id, response_uuid) "
        "SELECT r.device_id, r.unit_id, r.uuid FROM responses r WHERE r.id IN ("
        " SELECT min(id) FROM responses WHERE channel = 'online' AND device_id IS NOT NULL"
        " GROUP BY device_id, unit_id)")


def downgrade():
    op.drop_table('device_unit_claims')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_column('receipt_issued_at')
