"""Pingyi Collector (评议收集器): the web face of the store."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from qr.links import LinkSigner

from . import security
from .config import from_environment
from .extensions import db, migrate

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Create and configure the app (instance_path: where the store and generated key live)."""
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)

    security.init_app(app)

    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # readable Chinese in JSON
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    with app.app_context():
        from sync.db import configure_engine

        configure_engine(db.engine)

    keys = [*app.config["SECRET_KEY_FALLBACKS"], app.config["SECRET_KEY"]]
    app.extensions["link_signer"] = LinkSigner(keys)
    from sync.link_cache import LinkCache

    app.extensions["link_cache"] = LinkCache()  # this worker's; see sync.link_cache

    # ratelimits registers the pingyi-memory:// storage before auth starts the limiter
    from . import admin, api, auth, cli, errors, ratelimits, shortlinks, survey  # noqa: F401
    from .admin import posters as admin_posters
    from .admin import programmes as admin_programmes
    from .admin import reports as admin_reports
    from .admin.followups import board

    errors.register(app)
    auth.init_app(app, exempt=[survey.bp, api.bp])

    app.register_blueprint(survey.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(cli.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(shortlinks.bp)
    app.register_blueprint(admin_posters.bp)
    app.register_blueprint(admin_reports.bp)
    app.register_blueprint(admin_programmes.bp)
    app.register_blueprint(board.bp)
    admin_reports.export_jobs.init_app(app)
    return app
