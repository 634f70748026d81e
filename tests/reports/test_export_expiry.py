"""A finished file past its retention is no longer served, from the moment it is due (by the
server's clock), not only once a runner has pruned it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from collector import create_app
from collector.extensions import db
from sync.exports.files import is_expired, prune_exports
from sync.exports.jobs import create_job, run_next
from sync.exports.models import ExportJob
from sync.models import Role, utcnow

from .conftest import download

WEEK, DAY = timedelta(days=7), timedelta(hours=24)


@pytest.mark.parametrize(("personal", "age", "expired"), [
    (True, DAY + timedelta(minutes=1), True), (True, DAY - timedelta(minutes=1), False),
    (False, DAY + timedelta(minutes=1), False), (False, WEEK + timedelta(minutes=1), True),
])
def test_a_file_due_for_pruning_is_not_served(app, client, session, hand_built, make_user,
                                              login, personal, age, expired):
    admin = make_user("boss", role=Role.ADMIN)
    login(admin)
    job = create_job(session, hand_built, admin.id, "ledger" if personal else "rankings", {},
                     None, personal=personal)
    session.commit()
    assert run_next(db.engine) == job.id
    session.execute(update(ExportJob).where(ExportJob.id == job.id)
                    .values(finished_at=utcnow() - age))
    session.commit()
    url = f"/admin/exports/{job.id}"

    reply = download(client, f"{url}/download")
    status = client.get(f"/api/v1/admin/exports/{job.id}").json
    page = client.get(url).get_data(as_text=True)
    if expired:
        assert reply.status_code == 410 and "文件已过期，请重新导出。" in reply.get_data(as_text=True)
        assert status["status"] == "expired" and status["download_url"] is None
        assert "文件已过期，请重新导出。" in page
    else:
        assert reply.status_code == 200 and reply.data.startswith(b"PK")
        assert status["status"] == "done" and status["download_url"] == f"{url}/download"
        assert "文件已生成" in page
    # the pruner applies the same rule
    session.rollback()
    assert prune_exports(session, WEEK, DAY) == int(expired)
    assert is_expired(session.scalar(select(ExportJob)), utcnow(), WEEK, DAY) is expired


@pytest.mark.parametrize(("name", "value"), [
    ("EXPORT_RETENTION_DAYS", "abc"), ("EXPORT_RETENTION_DAYS", "-1"),
    ("EXPORT_RETENTION_DAYS", "0"), ("EXPORT_PERSONAL_RETENTION_HOURS", "nan"),
    ("EXPORT_PERSONAL_RETENTION_HOURS", "1e12"), ("EXPORT_PERSONAL_RETENTION_HOURS", ""),
])
def test_a_bad_retention_setting_stops_the_app_from_starting(tmp_path, monkeypatch, name,
                                                            value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"{name} must be a positive number"):
        create_app({"TESTING": True, "SECRET_KEY": "x",
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'c.db'}"})


def test_retention_settings_from_the_environment_are_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPORT_PERSONAL_RETENTION_HOURS", "1.5")
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'c.db'}"})
    assert app.config["EXPORT_PERSONAL_RETENTION_HOURS"] == 1.5
    assert app.config["EXPORT_RETENTION_DAYS"] == 7


def test_prune_exports_refuses_a_negative_number_of_days(app, session, hand_built, make_user):
    job = create_job(session, hand_built, make_user("boss", role=Role.ADMIN).id, "tallies", {},
                     None)
    session.commit()
    run_next(db.engine)
    result = app.test_cli_runner().invoke(args=["prune-exports", "--days", "-1"])
    assert result.exit_code == 2 and "Invalid value for '--days'" in result.output
    session.refresh(job)
    assert job.status == "done"
