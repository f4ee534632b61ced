"""process_instance.title: what lists call a case (set from its data after each step)

Revision ID: 0004titles
Revises: 0003web
"""
from alembic import op
import sqlalchemy as sa


revision = "0004titles"
down_revision = "0003web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instance") as batch:
        batch.add_column(sa.Column("title", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("process_instance") as batch:
        batch.drop_column("title")
