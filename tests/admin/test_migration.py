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


#: rows of every table a batch rebuild of `responses` could cascade into, at revision 323140e8df5f
OLD_ROWS = [
    "insert into questionnaires (id,title,comment_label,identity_required,created_at,version) "
    "values (1,'q','c',0,'2026-01-01 00:00:00',1)",
    "insert into scales (id,name) values (1,'s')",
    "insert into scale_levels (id,scale_id,key,label,score,position,counts_satisfied,needs_reason)"
    " values (1,1,'a','满意',100,0,1,0)",
    "insert into questionnaire_items (id,questionnaire_id,key,label,position,required,weight,"
    "scale_id) values (1,1,'k','l',0,1,1,1)",
    "insert into campaigns (id,title,year,status,bottom_n,questionnaire_id,created_at) "
    "values (1,'t',2026,'open',2,1,'2026-01-01 00:00:00')",
    "insert into categories (id,campaign_id,name,position) values (1,1,'A',0)",
    "insert into units (id,campaign_id,category_id,code,name) values (1,1,1,'U1','u')",
    "insert into links (id,campaign_id,purpose,channel,created_at) "
    "values (1,1,'poster','online','2026-01-01 00:00:00')",
    "insert into users (id,username,password_hash,role,created_at) "
    "values (1,'admin','x','admin','2026-01-01 00:00:00')",
    "insert into responses (id,uuid,campaign_id,unit_id,link_id,channel,created_at,received_at,"
    "content_hash,flags,is_repeat,meta) values (1,'u-1',1,1,1,'online','2026-01-01 00:00:00',"
    "'2026-01-01 00:00:00','h','[]',0,'{}')",
    "insert into answers (response_id,item_id,level_id,score) values (1,1,1,100)",
    "insert into follow_ups (id,response_id,owner_unit_id,status,created_at,updated_at,"
    "updated_by_id) values (1,1,1,'pending','2026-01-01 00:00:00','2026-01-01 00:00:00',1)",
]


def test_sqlite_table_rebuilds_keep_the_rows_that_point_at_them(tmp_path):
    """A batch migration rebuilds `responses` on SQLite (DROP + rename); with foreign keys on,
    the DROP would cascade into answers and follow-ups. Upgrading and downgrading keep them."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    app = create_app({"TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "old.db")})
    with app.app_context():
        upgrade(revision="323140e8df5f")
        for statement in OLD_ROWS:
            db.session.execute(text(statement))
        db.session.commit()

        def counts() -> list[int]:
            try:
                return [db.session.execute(text(f"select count(*) from {t}")).scalar_one()
                        for t in ("responses", "answers", "follow_ups", "users")]
            finally:
                db.session.remove()

        assert counts() == [1, 1, 1, 1]
        upgrade()
        assert counts() == [1, 1, 1, 1]
        follow_up = db.session.execute(text("select updated_by_id from follow_ups")).scalar()
        assert follow_up == 1  # SET NULL did not fire either
        db.session.remove()
        downgrade(revision="323140e8df5f")
        assert counts() == [1, 1, 1, 1]
        upgrade()
        assert counts() == [1, 1, 1, 1]
        # and the app's own connections still enforce foreign keys afterwards
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.session.remove()
        db.engine.dispose()


def test_receipt_claims_go_to_the_first_counted_late_poster_rating(tmp_path):
    """Upgrading gives each (receipt, unit) of late poster ratings already stored its claim, so a
    further upload on a receipt already used is a repeat."""
    from datetime import datetime, timezone

    from flask_migrate import upgrade
    from sqlalchemy import text

    app = create_app({"TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "old.db")})
    issued = "2026-01-01 00:00:00.123000"
    late = ("insert into responses (id,uuid,campaign_id,unit_id,link_id,channel,created_at,"
            "received_at,content_hash,flags,is_repeat,meta,receipt_issued_at) values "
            "({id},'u-{id}',1,1,1,'online','2026-01-01 00:00:00','2026-01-02 00:00:00','h',"
            "'{flags}',{repeat},'{{}}','{issued}')")
    with app.app_context():
        upgrade(revision="323140e8df5f")
        for statement in OLD_ROWS:
            db.session.execute(text(statement))
        db.session.commit()
        upgrade(revision="c4e8f1a2b3d6")
        for rid, flags, repeat in [(2, '["late_upload", "repeat_device"]', 1),
                                   (3, '["late_upload"]', 0), (4, '["late_upload"]', 0),
                                   (5, "[]", 0)]:
            db.session.execute(text(late.format(id=rid, flags=flags, repeat=repeat,
                                                issued=issued)))
        db.session.commit()
        db.session.remove()
        upgrade()
        claims = db.session.execute(text("select link_id, issued_ms, unit_id, response_uuid "
                                         "from receipt_unit_claims")).all()
        db.session.remove()
        db.engine.dispose()
    ms = round(datetime(2026, 1, 1, 0, 0, 0, 123000, timezone.utc).timestamp() * 1000)
    assert [tuple(c) for c in claims] == [(1, ms, 1, "u-3")]
