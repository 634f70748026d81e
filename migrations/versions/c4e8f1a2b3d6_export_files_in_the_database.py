"""Export files in the database: pieces of finished files, the ledger as a job kind, expiry

Revision ID: c4e8f1a2b3d6
Revises: b7e2c4a19d05
Create Date: 2026-11-25 17:00:00

Finished Excel files used to sit in EXPORT_DIR on the host that built them; they are now
stored in export_chunks and expire after a retention period. Files built before this revision
are not carried over: their jobs are marked expired (delete EXPORT_DIR by hand).
"""
import sqlalchemy as sa
from alembic import op


revision = 'c4e8f1a2b3d6'
down_revision = 'b7e2c4a19d05'
branch_labels = None
depends_on = None

STATUSES = "status IN ('queued', 'running', 'done', 'failed', 'expired')"
KINDS = "kind IN ('responses', 'tallies', 'rankings', 'all', 'ledger')"
OLD_STATUSES = "status IN ('queued', 'running', 'done', 'failed')"
OLD_KINDS = "kind IN ('responses', 'tallies', 'rankings', 'all')"


def upgrade():
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_export_jobs_status'), type_='check')
        batch_op.drop_constraint(op.f('ck_export_jobs_kind'), type_='check')
        batch_op.create_check_constraint('status', STATUSES)
        batch_op.create_check_constraint('kind', KINDS)
        batch_op.add_column(sa.Column('personal', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('byte_size', sa.BigInteger(), nullable=True))
        batch_op.drop_column('file_name')
        batch_op.create_index('ix_export_jobs_status_finished', ['status', 'finished_at'],
                              unique=False)
    op.execute("UPDATE export_jobs SET status = 'expired' WHERE status = 'done'")
    op.create_table(
        'export_chunks',
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['job_id'], ['export_jobs.id'],
                                name=op.f('fk_export_chunks_job_id_export_jobs'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('job_id', 'attempt', 'seq', name=op.f('pk_export_chunks')),
    )


def downgrade():
    op.drop_table('export_chunks')
    # The files were in the database: none is left to serve.
    op.execute("DELETE FROM export_jobs WHERE kind = 'ledger'")
    op.execute("UPDATE export_jobs SET status = 'failed', error = '文件已删除，请重新导出。' "
               "WHERE status IN ('done', 'expired')")
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_export_jobs_status_finished')
        batch_op.add_column(sa.Column('file_name', sa.String(length=120), nullable=True))
        batch_op.drop_column('byte_size')
        batch_op.drop_column('personal')
        batch_op.drop_constraint(op.f('ck_export_jobs_kind'), type_='check')
        batch_op.drop_constraint(op.f('ck_export_jobs_status'), type_='check')
        batch_op.create_check_constraint('kind', OLD_KINDS)
        batch_op.create_check_constraint('status', OLD_STATUSES)
