"""Fixtures for scoring programmes, the sample pool, the report and the push: the cadre-page
fixtures (accounts, CSRF) and the seed 004 campaign built in programmes.helpers."""

from __future__ import annotations

import pytest
from admin.conftest import admin_client, csrf_from, login, make_user, post_form  # noqa: F401

from .helpers import build_seed004


@pytest.fixture
def seed004(app, session, client, runner, make_campaign, make_link, tmp_path):  # type: ignore[no-untyped-def]
    return build_seed004(app, session, client, runner, make_campaign, make_link, tmp_path)
