"""Phase 2: documents, budget ledger, calls and their applications, DigiCheck results,
Blaupausen.

Revision ID: 0002p2
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import app.models.base


revision = "0002p2"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('budget_position',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('haushaltsjahr', sa.Integer(), nullable=False),
    sa.Column('titel', sa.String(length=40), nullable=False),
    sa.Column('bezeichnung', sa.String(length=300), nullable=False),
    sa.Column('ansatz_cents', sa.BigInteger(), nullable=False),
    sa.Column('gebunden_cents', sa.BigInteger(), nullable=False),
    sa.Column('ausgezahlt_cents', sa.BigInteger(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_position')),
    sa.UniqueConstraint('haushaltsjahr', 'titel', name=op.f('uq_budget_position_haushaltsjahr_titel'))
    )
    op.create_table('budget_booking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=False),
    sa.Column('idempotency_key', sa.String(length=240), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['position_id'], ['budget_position.id'], name=op.f('fk_budget_booking_position_id_budget_position'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_booking')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_budget_booking_idempotency_key'))
    )
    op.create_index(op.f('ix_budget_booking_instance_id'), 'budget_booking', ['instance_id'], unique=False)
    op.create_index(op.f('ix_budget_booking_position_id'), 'budget_booking', ['position_id'], unique=False)
    op.create_index('ix_budget_booking_reference', 'budget_booking', ['reference', 'position_id'], unique=False)
    op.create_table('blaupause',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('aktenzeichen', sa.String(length=120), nullable=False),
    sa.Column('titel', sa.String(length=300), nullable=False),
    sa.Column('cluster_name', sa.String(length=300), nullable=False),
    sa.Column('lead_ags', sa.String(length=8), nullable=False),
    sa.Column('mitglieder', sa.JSON(), nullable=False),
    sa.Column('themenbereiche', sa.JSON(), nullable=False),
    sa.Column('massnahmen', sa.Text(), nullable=False),
    sa.Column('nachnutzung', sa.Text(), nullable=False),
    sa.Column('ergebnisse', sa.Text(), nullable=False),
    sa.Column('kontakt', sa.String(length=300), nullable=False),
    sa.Column('published_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_blaupause_instance_id_process_instance'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blaupause')),
    sa.UniqueConstraint('instance_id', name=op.f('uq_blaupause_instance_id'))
    )
    op.create_index(op.f('ix_blaupause_lead_ags'), 'blaupause', ['lead_ags'], unique=False)
    op.create_index(op.f('ix_blaupause_published_at'), 'blaupause', ['published_at'], unique=False)
    op.create_table('document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('mime', sa.String(length=120), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_document_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_document_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document'))
    )
    op.create_index(op.f('ix_document_instance_id'), 'document', ['instance_id'], unique=False)
    op.create_index(op.f('ix_document_kind'), 'document', ['kind'], unique=False)
    op.create_index(op.f('ix_document_sha256'), 'document', ['sha256'], unique=False)
    op.create_table('foerderaufruf',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kennung', sa.String(length=120), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('titel', sa.String(length=300), nullable=False),
    sa.Column('frist', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('foerdersumme_cents', sa.BigInteger(), nullable=False),
    sa.Column('budget_cents', sa.BigInteger(), nullable=True),
    sa.Column('laufzeit_monate', sa.Integer(), nullable=False),
    sa.Column('schwellenwert', sa.Integer(), nullable=False),
    sa.Column('quote', sa.JSON(), nullable=False),
    sa.Column('gewichte', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_foerderaufruf_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_foerderaufruf')),
    sa.UniqueConstraint('kennung', name=op.f('uq_foerderaufruf_kennung'))
    )
    op.create_index(op.f('ix_foerderaufruf_instance_id'), 'foerderaufruf', ['instance_id'], unique=False)
    op.create_table('aufruf_antrag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('aufruf_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('cluster_name', sa.String(length=300), nullable=False),
    sa.Column('lead_ags', sa.String(length=8), nullable=False),
    sa.Column('landesteil', sa.String(length=10), nullable=False),
    sa.Column('groessenklasse', sa.String(length=10), nullable=False),
    sa.Column('foerdersumme_cents', sa.BigInteger(), nullable=False),
    sa.Column('eingereicht_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('score', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['aufruf_id'], ['foerderaufruf.id'], name=op.f('fk_aufruf_antrag_aufruf_id_foerderaufruf'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_aufruf_antrag_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_aufruf_antrag')),
    sa.UniqueConstraint('aufruf_id', 'instance_id', name=op.f('uq_aufruf_antrag_aufruf_id_instance_id'))
    )
    op.create_index(op.f('ix_aufruf_antrag_aufruf_id'), 'aufruf_antrag', ['aufruf_id'], unique=False)
    op.create_index(op.f('ix_aufruf_antrag_instance_id'), 'aufruf_antrag', ['instance_id'], unique=False)
    op.create_table('digicheck_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_ags', sa.String(length=8), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('completed_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('gesamt', sa.Integer(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('recommendations', sa.JSON(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_digicheck_result_document_id_document'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_digicheck_result_instance_id_process_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['municipality_ags'], ['municipality.ags'], name=op.f('fk_digicheck_result_municipality_ags_municipality'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digicheck_result'))
    )
    op.create_index(op.f('ix_digicheck_result_completed_at'), 'digicheck_result', ['completed_at'], unique=False)
    op.create_index(op.f('ix_digicheck_result_instance_id'), 'digicheck_result', ['instance_id'], unique=False)
    op.create_index(op.f('ix_digicheck_result_municipality_ags'), 'digicheck_result', ['municipality_ags'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_digicheck_result_municipality_ags'), table_name='digicheck_result')
    op.drop_index(op.f('ix_digicheck_result_instance_id'), table_name='digicheck_result')
    op.drop_index(op.f('ix_digicheck_result_completed_at'), table_name='digicheck_result')
    op.drop_table('digicheck_result')
    op.drop_index(op.f('ix_aufruf_antrag_instance_id'), table_name='aufruf_antrag')
    op.drop_index(op.f('ix_aufruf_antrag_aufruf_id'), table_name='aufruf_antrag')
    op.drop_table('aufruf_antrag')
    op.drop_index(op.f('ix_foerderaufruf_instance_id'), table_name='foerderaufruf')
    op.drop_table('foerderaufruf')
    op.drop_index(op.f('ix_document_sha256'), table_name='document')
    op.drop_index(op.f('ix_document_kind'), table_name='document')
    op.drop_index(op.f('ix_document_instance_id'), table_name='document')
    op.drop_table('document')
    op.drop_index(op.f('ix_blaupause_published_at'), table_name='blaupause')
    op.drop_index(op.f('ix_blaupause_lead_ags'), table_name='blaupause')
    op.drop_table('blaupause')
    op.drop_index('ix_budget_booking_reference', table_name='budget_booking')
    op.drop_index(op.f('ix_budget_booking_position_id'), table_name='budget_booking')
    op.drop_index(op.f('ix_budget_booking_instance_id'), table_name='budget_booking')
    op.drop_table('budget_booking')
    op.drop_table('budget_position')
