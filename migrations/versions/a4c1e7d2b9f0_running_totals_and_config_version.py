"""Running tally totals, the config version that invalidates workers' caches, and indexes
for the dashboard's latest comments and the export's keyset pages

Revision ID: a4c1e7d2b9f0
Revises: 8b1f4c2d9e07
Create Date: 2026-11-25 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a4c1e7d2b9f0'
down_revision = '8b1f4c2d9e07'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'tally_totals',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('level_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('identity_key', sa.String(length=40), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('score_sum', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_tally_totals_campaign_id_campaigns'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('campaign_id', 'day', 'unit_id', 'item_id', 'level_id',
                                'channel', 'identity_key', name=op.f('pk_tally_totals')),
    )
    op.create_table(
        'config_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_config_version')),
    )
    op.execute("INSERT INTO config_version (id, value) VALUES (1, 1)")
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.create_index('ix_responses_campaign_received', ['campaign_id', 'received_at'],
                              unique=False)
        batch_op.create_index('ix_responses_campaign_created',
                              ['campaign_id', 'created_at', 'id'], unique=False)
    # Ratings stored before this revision enter the totals with `collector rebuild-tallies`.


def downgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index('ix_responses_campaign_created')
        batch_op.drop_index('ix_responses_campaign_received')
    op.drop_table('config_version')
    op.drop_table('tally_totals')
