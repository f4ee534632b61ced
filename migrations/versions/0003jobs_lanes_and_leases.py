"""service jobs: queue lane (interactive | bulk) and a heartbeat lease for running jobs

Revision ID: 0003jobs
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import app.models.base


revision = "0003jobs"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_DT = app.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("service_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.String(length=20), nullable=False,
                                      server_default="interactive"))
        batch_op.add_column(sa.Column("lease_until", UTC_DT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_job", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lane")
