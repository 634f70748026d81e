"""Configuration from the environment."""

from __future__ import annotations

import os
from pathlib import Path

from sync.db import normalise_url


def from_environment(instance_path: str) -> dict:
    """Build the config mapping; DATABASE_URL defaults to an SQLite file in the instance folder."""
    default_db = "sqlite:///" + str(Path(instance_path) / "collector.db")
    fallbacks = [k.strip() for k in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",")
                 if k.strip()]
    url = normalise_url(os.environ.get("DATABASE_URL", default_db))
    return {
        # Unset: a random key kept in instance/secret_key (collector.security.instance_secret).
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        # Old keys still verify sessions and printed links after a rotation; the newest signs.
        "SECRET_KEY_FALLBACKS": fallbacks,
        "SQLALCHEMY_DATABASE_URI": url,
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/"),
        # Finished Excel exports are kept in the database (any host serves them) this long;
        # files with phone numbers (the ledger's 回访名单) this many hours. Checked (positive
        # numbers) and made floats at start-up: collector.admin.reports.export_jobs.
        "EXPORT_RETENTION_DAYS": os.environ.get("EXPORT_RETENTION_DAYS", "7"),
        "EXPORT_PERSONAL_RETENTION_HOURS": os.environ.get("EXPORT_PERSONAL_RETENTION_HOURS", "24"),
        # Sync bodies above 1 MB are refused with 413 before they are read.
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure cookies whenever the site is served over HTTPS (or when forced by the env).
        "SESSION_COOKIE_SECURE": os.environ.get(
            "SESSION_COOKIE_SECURE",
            "1" if os.environ.get("PUBLIC_BASE_URL", "").startswith("https://") else "0") == "1",
        "SESSION_COOKIE_NAME": "pingyi_session",
        # A working day; the CSRF token lives as long as the session it belongs to.
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        # Form messages come from WTForms' own zh catalogue (no Flask-Babel here).
        "WTF_I18N_ENABLED": False,
        # Failed logins per (IP, username); counters live in RATELIMIT_STORAGE_URI.
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "5 per minute"),
        # A sliding window: failures just before a minute boundary still count after it.
        "RATELIMIT_STRATEGY": "moving-window",
        # pingyi-memory:// is memory:// with a lean sweep (collector.ratelimits.SweptMemoryStorage)
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "pingyi-memory://"),
        # Several installs sharing one Redis keep their counters apart by prefix.
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", ""),
        # Sync uploads per device id (client-chosen, so also per address below) and per address:
        # villages and halls share one address behind NAT, so that limit is generous.
        "SYNC_RATE_LIMIT": os.environ.get("SYNC_RATE_LIMIT", "30 per minute"),
        "ADDRESS_RATE_LIMIT": os.environ.get("ADDRESS_RATE_LIMIT", "600 per minute"),
        # Form pages and short links per address; a failed look-up costs FAILED_LOOKUP_COST.
        "FORM_RATE_LIMIT": os.environ.get("FORM_RATE_LIMIT", "300 per minute"),
        # Reverse proxies in front of the app (nginx: 1); their X-Forwarded-For is believed.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        # A ping per checkout survives a PostgreSQL restart; an SQLite file needs none.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": not url.startswith("sqlite")},
    }
