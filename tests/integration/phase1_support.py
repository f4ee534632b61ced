"""Shared helpers of the Phase 1 integration tests (master data from data/)."""

from __future__ import annotations

import io
import random
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, text

from app.models import Municipality
from tests.conftest import DATA

DESTATIS = DATA / "destatis_auszuggv_hessen.csv"
JAHR = date.today().year
BUDGET_16_MIO = 1_600_000_000


def clean_imported(platform) -> None:  # noqa: ANN001
    """Remove imported (non-demo) municipalities and reactivate the demo ones."""
    with platform.db.engine.begin() as conn:
        for table in ("phase1_case", "phase1_allocation_result", "phase1_allocation_run",
                      "phase1_programme_year", "finanzkraft", "municipality_history",
                      "masterdata_import"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(delete(Municipality).where(Municipality.demo.is_(False)))
        conn.execute(Municipality.__table__.update().values(active=True))


@pytest.fixture
def clean_masterdata(platform):  # noqa: ANN001, ANN201
    clean_imported(platform)
    yield
    clean_imported(platform)


def upload(user, url: str, content: bytes, filename: str, **form):  # noqa: ANN001, ANN201
    data = {"file": (io.BytesIO(content), filename), **form}
    return user.post(url, data=data, content_type="multipart/form-data")


def import_directory(user, content: bytes | None = None, filename: str = DESTATIS.name, **form):  # noqa: ANN001, ANN201
    content = DESTATIS.read_bytes() if content is None else content
    return upload(user, "/api/phase1/imports/gemeindeverzeichnis", content, filename, **form)


def finanzkraft_csv(ags_list, jahr: int = JAHR, seed: int = 2020) -> bytes:  # noqa: ANN001
    """Synthetic Finanzkraft je Einwohner around 1,000 € (600–1,600 €), deterministic."""
    rng = random.Random(seed)
    lines = ["ags,jahr,finanzkraft_je_einwohner"]
    lines += [f"{ags},{jahr},{Decimal(rng.randint(60_000, 160_000)) / 100}" for ags in ags_list]
    return ("\n".join(lines) + "\n").encode()


def import_finanzkraft(user, content: bytes):  # noqa: ANN001, ANN201
    return upload(user, "/api/phase1/imports/finanzkraft", content, "finanzkraft.csv")


def active_ags(platform, include_demo: bool = False) -> list[str]:  # noqa: ANN001
    with platform.db.unit_of_work() as s:
        q = select(Municipality.ags).where(Municipality.active.is_(True))
        if not include_demo:
            q = q.where(Municipality.demo.is_(False))
        return list(s.scalars(q.order_by(Municipality.ags)))


def setup_hessen(login, platform, jahr: int = JAHR, budget_cents: int = BUDGET_16_MIO,  # noqa: ANN001
                 seed: int = 2020) -> None:
    admin = login("admin")
    r = import_directory(admin)
    assert r.status_code == 201, r.get_json()
    r = import_finanzkraft(admin, finanzkraft_csv(active_ags(platform), jahr, seed))
    assert r.status_code == 201, r.get_json()
    r = login("sb1").client.put(f"/api/phase1/years/{jahr}", headers=login("sb1").headers,
                                json={"budget_cents": budget_cents})
    assert r.status_code == 200, r.get_json()


def put(user, url: str, json: dict):  # noqa: ANN001, ANN201
    return user.client.put(url, headers=user.headers, json=json)
