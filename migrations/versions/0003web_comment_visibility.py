"""comments: internal notes of the Bewilligungsstelle vs. messages to all parties

Revision ID: 0003web
Revises: 0002web
"""
from alembic import op
import sqlalchemy as sa


revision = "0003web"
down_revision = "0002web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_comment") as batch:
        batch.add_column(sa.Column("internal", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("task_comment") as batch:
        batch.drop_column("internal")
