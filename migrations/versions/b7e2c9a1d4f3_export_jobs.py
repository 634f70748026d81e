"""Export jobs: XLSX files built by a background runner, with progress and a lease

Revision ID: b7e2c9a1d4f3
Revises: 6a1e0b2c9d4f
Create Date: 2026-11-25 13:10:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'b7e2c9a1d4f3'
down_revision = '6a1e0b2c9d4f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'export_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('filters', sa.JSON(), nullable=False),
        sa.Column('unit_ids', sa.JSON(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('rows_done', sa.Integer(), nullable=False),
        sa.Column('rows_total', sa.Integer(), nullable=True),
        sa.Column('file_name', sa.String(length=120), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('worker', sa.String(length=64), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('responses', 'tallies', 'rankings', 'all')",
                           name=op.f('ck_export_jobs_kind')),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')",
                           name=op.f('ck_export_jobs_status')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_export_jobs_campaign_id_campaigns'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'],
                                name=op.f('fk_export_jobs_requested_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export_jobs')),
    )
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_export_jobs_status_heartbeat', ['status', 'heartbeat_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_export_jobs_campaign_id'), ['campaign_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_export_jobs_requested_by_id'), ['requested_by_id'],
                              unique=False)


def downgrade():
    op.drop_table('export_jobs')
