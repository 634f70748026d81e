"""The Alembic migrations build the same schema as the models (questionnaire versions, follow-ups)."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from collector import create_app
from collector.extensions import db


def test_init_db_upgrades_to_the_models(tmp_path):
    url = "sqlite:///" + str(tmp_path / "migrated.db")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    result = app.test_cli_runner().invoke(args=["init-db"])
    with app.app_context():
        db.engine.dispose()
    assert result.exit_code == 0, result.output
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        from sync.models import Base

        assert set(Base.metadata.tables) <= set(inspector.get_table_names())
        for table in Base.metadata.sorted_tables:
            migrated = {c["name"] for c in inspector.get_columns(table.name)}
            assert migrated == set(table.columns.keys()), table.name
    finally:
        engine.dispose()
