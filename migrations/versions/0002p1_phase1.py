"""Phase 1: municipality master data columns and history, Finanzkraft, programme years,
allocation runs and results, per-municipality cases

Revision ID: 0002p1
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import app.models.base


revision = "0002p1"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_DT = app.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("municipality", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flaeche_km2", sa.Numeric(10, 2), nullable=True))
        batch_op.add_column(sa.Column("gebietsstand", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("gemeinde_typ", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("hfag_status", sa.String(length=20), nullable=True))

    op.create_table(
        "masterdata_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("gebietsstand", sa.Date(), nullable=True),
        sa.Column("imported_at", UTC_DT, nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.Column("imported_by", sa.String(length=80), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["imported_by_id"], ["user_account.id"],
                                name=op.f("fk_masterdata_import_imported_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_masterdata_import")),
    )
    op.create_index(op.f("ix_masterdata_import_kind"), "masterdata_import", ["kind"])

    op.create_table(
        "municipality_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ags", sa.String(length=8), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", UTC_DT, nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("old_value", sa.String(length=300), nullable=True),
        sa.Column("new_value", sa.String(length=300), nullable=True),
        sa.Column("gebietsstand", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["ags"], ["municipality.ags"], ondelete="CASCADE",
                                name=op.f("fk_municipality_history_ags_municipality")),
        sa.ForeignKeyConstraint(["import_id"], ["masterdata_import.id"],
                                name=op.f("fk_municipality_history_import_id_masterdata_import")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_municipality_history")),
    )
    op.create_index(op.f("ix_municipality_history_ags"), "municipality_history", ["ags"])

    op.create_table(
        "finanzkraft",
        sa.Column("ags", sa.String(length=8), nullable=False),
        sa.Column("jahr", sa.Integer(), nullable=False),
        sa.Column("je_einwohner", sa.Numeric(12, 2), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(["ags"], ["municipality.ags"], ondelete="CASCADE",
                                name=op.f("fk_finanzkraft_ags_municipality")),
        sa.ForeignKeyConstraint(["import_id"], ["masterdata_import.id"],
                                name=op.f("fk_finanzkraft_import_id_masterdata_import")),
        sa.PrimaryKeyConstraint("ags", "jahr", name=op.f("pk_finanzkraft")),
    )

    op.create_table(
        "phase1_programme_year",
        sa.Column("jahr", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("budget_cents", sa.BigInteger(), nullable=False),
        sa.Column("sockel_cents", sa.BigInteger(), nullable=False),
        sa.Column("eigenanteil_percent", sa.Numeric(5, 2), nullable=False),
        sa.Column("hfag_threshold", sa.Integer(), nullable=False),
        sa.Column("hfag_klein", sa.Numeric(8, 4), nullable=False),
        sa.Column("hfag_gross", sa.Numeric(8, 4), nullable=False),
        sa.Column("hfag_mittelzentrum", sa.Numeric(8, 4), nullable=False),
        sa.Column("hfag_sonderstatus", sa.Numeric(8, 4), nullable=False),
        sa.Column("elasticity", sa.Numeric(8, 4), nullable=False),
        sa.Column("g_min", sa.Numeric(8, 4), nullable=False),
        sa.Column("g_max", sa.Numeric(8, 4), nullable=False),
        sa.Column("finanzkraft_jahr", sa.Integer(), nullable=False),
        sa.Column("laufzeit_ende", sa.Date(), nullable=False),
        sa.Column("haushaltstitel", sa.String(length=40), nullable=False),
        sa.Column("hfag_status", sa.JSON(), nullable=False),
        sa.Column("include_demo", sa.Boolean(), nullable=False),
        sa.Column("erinnerung_wochen", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("jahr", name=op.f("pk_phase1_programme_year")),
    )

    op.create_table(
        "phase1_allocation_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jahr", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("finanzkraft_jahr", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("sum_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("decided_at", UTC_DT, nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("start_instance_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_phase1_allocation_run_created_by_id_user_account")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user_account.id"],
                                name=op.f("fk_phase1_allocation_run_decided_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phase1_allocation_run")),
    )
    op.create_index("ix_phase1_allocation_run_jahr_kind", "phase1_allocation_run",
                    ["jahr", "kind", "status"])

    op.create_table(
        "phase1_allocation_result",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("ags", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kreis", sa.String(length=200), nullable=False),
        sa.Column("landesteil", sa.String(length=10), nullable=False),
        sa.Column("einwohner", sa.Integer(), nullable=False),
        sa.Column("groessenklasse", sa.String(length=10), nullable=False),
        sa.Column("finanzkraft", sa.Numeric(12, 2), nullable=False),
        sa.Column("hfag_faktor", sa.Numeric(8, 4), nullable=False),
        sa.Column("finanzkraft_faktor", sa.String(length=40), nullable=False),
        sa.Column("gewicht", sa.String(length=60), nullable=False),
        sa.Column("zuweisung_cents", sa.BigInteger(), nullable=False),
        sa.Column("volumen_cents", sa.BigInteger(), nullable=False),
        sa.Column("eigenanteil_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["phase1_allocation_run.id"], ondelete="CASCADE",
                                name=op.f("fk_phase1_allocation_result_run_id_phase1_allocation_run")),
        sa.PrimaryKeyConstraint("run_id", "ags", name=op.f("pk_phase1_allocation_result")),
    )

    op.create_table(
        "phase1_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jahr", sa.Integer(), nullable=False),
        sa.Column("ags", sa.String(length=8), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("aktenzeichen", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("started_at", UTC_DT, nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["phase1_allocation_run.id"],
                                name=op.f("fk_phase1_case_run_id_phase1_allocation_run")),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"], ondelete="SET NULL",
                                name=op.f("fk_phase1_case_instance_id_process_instance")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phase1_case")),
        sa.UniqueConstraint("jahr", "ags", name=op.f("uq_phase1_case_jahr_ags")),
    )
    op.create_index("ix_phase1_case_run_status", "phase1_case", ["run_id", "status"])
    op.create_index(op.f("ix_phase1_case_instance_id"), "phase1_case", ["instance_id"])


def downgrade() -> None:
    op.drop_table("phase1_case")
    op.drop_table("phase1_allocation_result")
    op.drop_table("phase1_allocation_run")
    op.drop_table("phase1_programme_year")
    op.drop_table("finanzkraft")
    op.drop_table("municipality_history")
    op.drop_table("masterdata_import")
    with op.batch_alter_table("municipality", schema=None) as batch_op:
        batch_op.drop_column("hfag_status")
        batch_op.drop_column("gemeinde_typ")
        batch_op.drop_column("gebietsstand")
        batch_op.drop_column("flaeche_km2")
