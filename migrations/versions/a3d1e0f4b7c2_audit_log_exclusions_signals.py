"""audit log (append-only), response exclusions, fraud-signal evidence

Revision ID: a3d1e0f4b7c2
Revises: 323140e8df5f
Create Date: 2026-11-25 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3d1e0f4b7c2'
down_revision = '323140e8df5f'
branch_labels = None
depends_on = None

# The same triggers as sync.audit installs on create_all (copied: a migration is a snapshot).
PG_APPEND_ONLY = [
    """CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
       AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql""",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
]
_UNCHANGED = " AND ".join(
    f"NEW.{c} IS OLD.{c}" for c in ("id", "at", "actor_name", "action", "target_type",
                                     "target_id", "campaign_id", "before", "after", "ip"))
SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    f"WHEN NOT (OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL AND {_UNCHANGED}) "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]


def upgrade():
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_log_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_log_campaign_id_id', ['campaign_id', 'id'], unique=False)
        batch_op.create_index('ix_audit_log_actor_id_id', ['actor_id', 'id'], unique=False)
        batch_op.create_index('ix_audit_log_action_id', ['action', 'id'], unique=False)
    bind = op.get_bind()
    triggers = PG_APPEND_ONLY if bind.dialect.name == 'postgresql' else SQLITE_APPEND_ONLY
    for statement in triggers:
        op.execute(statement)

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('min_seconds', sa.Integer(), server_default='8',
                                      nullable=False))

    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_ip', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('excluded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('exclusion_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('excluded_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_responses_excluded_by_id_users'), 'users',
                                    ['excluded_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_responses_campaign_device', ['campaign_id', 'device_id'],
                              unique=False)
        batch_op.create_index('ix_responses_campaign_client_ip', ['campaign_id', 'client_ip'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index('ix_responses_campaign_client_ip')
        batch_op.drop_index('ix_responses_campaign_device')
        batch_op.drop_constraint(batch_op.f('fk_responses_excluded_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('excluded_by_id')
        batch_op.drop_column('exclusion_reason')
        batch_op.drop_column('excluded_at')
        batch_op.drop_column('client_ip')

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('min_seconds')

    op.drop_table('audit_log')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
