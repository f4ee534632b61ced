"""Fixtures shared by the integration tests (the session-wide ones live in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.integration.web_support import definition_ids, deploy_fixture, forget_new_definitions


@pytest.fixture
def fixture_process(platform):  # noqa: ANN001, ANN201
    """Deploy a process from tests/integration/web_fixtures; removed again after the test."""
    before = definition_ids(platform)
    yield lambda name: deploy_fixture(platform, name)
    forget_new_definitions(platform, before)
