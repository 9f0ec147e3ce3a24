"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 17:24:31.620511
"""

from alembic import op
import sqlalchemy as sa

from db.models import UtcDateTime


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ingest_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', UtcDateTime(), nullable=False),
    sa.Column('finished_at', UtcDateTime(), nullable=True),
    sa.Column('window_start', UtcDateTime(), nullable=True),
    sa.Column('window_end', UtcDateTime(), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('fetched', sa.Integer(), nullable=False),
    sa.Column('inserted', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('out_of_window', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('api_requests', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ingest_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingest_runs_started_at'), ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ingest_runs_status'), ['status'], unique=False)

    op.create_table('kv',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('rejected_records',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('reject_key', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('rejected_at', UtcDateTime(), nullable=False),
    sa.Column('window_start', UtcDateTime(), nullable=True),
    sa.Column('window_end', UtcDateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raw_json', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reject_key')
    )
    with op.batch_alter_table('rejected_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rejected_records_rejected_at'), ['rejected_at'], unique=False)

    op.create_table('search_logs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_key', sa.String(length=64), nullable=False),
    sa.Column('create_time', UtcDateTime(), nullable=False),
    sa.Column('email_addr', sa.String(length=320), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=True),
    sa.Column('search_reason', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('search_path', sa.Text(), nullable=True),
    sa.Column('muse_query', sa.Text(), nullable=True),
    sa.Column('is_admin', sa.Boolean(), nullable=True),
    sa.Column('raw_json', sa.Text(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('ingested_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_key')
    )
    with op.batch_alter_table('search_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_logs_create_time'), ['create_time'], unique=False)
        batch_op.create_index('ix_search_logs_email_addr_create_time', ['email_addr', 'create_time'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('search_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_search_logs_email_addr_create_time')
        batch_op.drop_index(batch_op.f('ix_search_logs_create_time'))

    op.drop_table('search_logs')
    with op.batch_alter_table('rejected_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rejected_records_rejected_at'))

    op.drop_table('rejected_records')
    op.drop_table('kv')
    with op.batch_alter_table('ingest_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ingest_runs_status'))
        batch_op.drop_index(batch_op.f('ix_ingest_runs_started_at'))

    op.drop_table('ingest_runs')
