"""receipt_unit_claims: a late poster upload's form receipt counts once per unit

Revision ID: d9f3a6c1e2b4
Revises: c4e8f1a2b3d6
Create Date: 2026-11-25 21:00:00

Late poster ratings already stored keep their flags (and counts); the first counted one per
(receipt, unit) takes the claim, so further uploads on the same receipt are repeats.
"""
from datetime import timezone

import sqlalchemy as sa
from alembic import op


revision = 'd9f3a6c1e2b4'
down_revision = 'c4e8f1a2b3d6'
branch_labels = None
depends_on = None


def upgrade():
    claims = op.create_table('receipt_unit_claims',
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('issued_ms', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('response_uuid', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['links.id'],
                            name=op.f('fk_receipt_unit_claims_link_id_links'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                            name=op.f('fk_receipt_unit_claims_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('link_id', 'issued_ms', 'unit_id',
                            name=op.f('pk_receipt_unit_claims'))
    )
    # The counted late poster rating that came first for each (receipt, unit) holds its claim.
    responses = sa.table('responses', sa.column('id', sa.Integer), sa.column('uuid', sa.String),
                         sa.column('link_id', sa.Integer), sa.column('unit_id', sa.Integer),
                         sa.column('channel', sa.String), sa.column('is_repeat', sa.Boolean),
                         sa.column('flags', sa.JSON),
                         sa.column('receipt_issued_at', sa.DateTime(timezone=True)))
    found = op.get_bind().execute(
        sa.select(responses.c.uuid, responses.c.link_id, responses.c.unit_id,
                  responses.c.flags, responses.c.receipt_issued_at)
        .where(responses.c.channel == 'online', responses.c.is_repeat.is_(False),
               responses.c.receipt_issued_at.is_not(None))
        .order_by(responses.c.id)
        .execution_options(yield_per=5000))  # a city store holds a million poster ratings
    rows = {}
    for uuid, link_id, unit_id, flags, issued in found:
        if 'late_upload' not in (flags or []):
            continue
        if issued.tzinfo is None:  # SQLite keeps no zone: the store writes UTC
            issued = issued.replace(tzinfo=timezone.utc)
        key = (link_id, round(issued.timestamp() * 1000), unit_id)
        rows.setdefault(key, {'link_id': key[0], 'issued_ms': key[1], 'unit_id': key[2],
                              'response_uuid': uuid})
    if rows:
        op.bulk_insert(claims, list(rows.values()))


def downgrade():
    op.drop_table('receipt_unit_claims')
