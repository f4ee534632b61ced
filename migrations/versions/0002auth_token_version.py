"""auth: per-user token version (password change, deactivation and forced logout revoke
existing API tokens and browser sessions)

Revision ID: 0002auth
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0002auth"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("token_version")
