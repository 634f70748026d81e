"""The store's engine settings, migrations and built-in questionnaires."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, text

from collector import create_app
from collector.extensions import db
from sync.db import configure_engine, write_transaction
from sync.models import Base
from sync.templates import TEMPLATES, build_questionnaire


def test_sqlite_runs_in_wal_with_a_busy_timeout(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    configure_engine(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_write_transactions_begin_immediate(tmp_path):
    from sqlalchemy.orm import Session

    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    configure_engine(engine)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, stmt, *a: statements.append(stmt))
    session = Session(engine)
    session.execute(text("SELECT 1"))  # a read transaction first
    with write_transaction(session):
        session.execute(text("CREATE TABLE t (x)"))
    assert "BEGIN IMMEDIATE" in statements
    # the read transaction was a plain BEGIN and ended before the write began
    assert statements.index("BEGIN") < statements.index("BEGIN IMMEDIATE")


def test_migrations_build_exactly_the_models(database_url):
    """Upgrading an empty database to head gives the schema sync.models declares."""
    if not database_url.startswith("sqlite"):
        # On PostgreSQL the shared test schema exists; use a fresh schema for this check.
        engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS migration_check CASCADE"))
            conn.execute(text("CREATE SCHEMA migration_check"))
        url = engine.url.set(query={"options": "-csearch_path=migration_check"})
        uri = url.render_as_string(hide_password=False)
    else:
        uri = database_url.replace("collector.db", "migrated.db")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": uri})
    try:
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            assert diff == []
            db.session.remove()
            db.engine.dispose()
    finally:
        if not database_url.startswith("sqlite"):
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA migration_check CASCADE"))
            engine.dispose()


@pytest.mark.parametrize(("key", "items", "levels"), [
    ("jiguan5", ["工作效率", "服务态度", "业务水平", "工作作风", "廉洁自律"],
     [("满意", 100), ("基本满意", 60), ("不满意", 0)]),
    ("shuangwan", ["服务大局", "工作质量", "服务态度", "干部作风", "机关形象"],
     [("满意", 100), ("基本满意", 60), ("不满意", 0)]),
    ("haochaping", ["总体评价", "办事效率", "服务态度"],
     [("非常满意", 100), ("满意", 80), ("基本满意", 60), ("不满意", 30), ("非常不满意", 0)]),
])
def test_built_in_questionnaires(session, key, items, levels):
    q = build_questionnaire(session, key)
    session.flush()
    assert [i.label for i in q.items] == items
    assert [(lv.label, lv.score) for lv in q.items[0].scale.levels] == levels
    assert q.identities, "every template names who may rate"
    if key == "haochaping":
        assert [lv.label for lv in q.items[0].scale.levels if lv.needs_reason] == \
            ["不满意", "非常不满意"]
    if key == "jiguan5":
        assert [c.label for c in q.identities] == ["企业服务对象", "乡村振兴帮扶对象"]
    assert set(TEMPLATES) == {"jiguan5", "shuangwan", "haochaping"}
