"""Web hardening: the secret key, security headers with per-request CSP nonces, proxies, 429s."""

from __future__ import annotations

import math
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, has_request_context, request
from flask_limiter import RateLimitExceeded
from werkzeug.middleware.proxy_fix import ProxyFix

SECRET_FILE = "secret_key"
NONCE_KEY = "pingyi.csp_nonce"
#: keys that were ever published (old READMEs, the former development default): never accepted
KNOWN_PUBLIC_KEYS = frozenset({"dev-only-secret-change-me", "dev", "secret", "change-me"})

RATE_LIMITED = "操作过于频繁，请 {seconds} 秒后再试。"
#: said to phones uploading their queue, which keeps every rating until the server takes it
QUEUE_KEPT = "已填写的评议保存在本机，不会丢失。"


class InsecureSecretKey(RuntimeError):
    """SECRET_KEY is set to a value anyone can read in public documents."""


def instance_secret(instance_path: str | os.PathLike[str]) -> str:
    """Return the key kept in the instance folder, creating a random one on first use.

    The file is written under a temporary name with mode 0600 and then hard-linked into place:
    the link fails when another worker won the race, and both then read the winner's key.
    """
    path = Path(instance_path) / SECRET_FILE
    if not path.exists():
        _create_secret_file(path)
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise InsecureSecretKey(f"{path} is empty; delete it to have a new key generated")
    return key


def _create_secret_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)  # atomic, and never replaces an existing file
        except FileExistsError:
            pass  # another worker created it first: use theirs
    finally:
        temporary.unlink(missing_ok=True)


def resolve_secret_key(app: Flask) -> None:
    """Use SECRET_KEY when given (never a published one), else the instance folder's key."""
    key = app.config.get("SECRET_KEY")
    if not key:
        app.config["SECRET_KEY"] = instance_secret(app.instance_path)
    published = KNOWN_PUBLIC_KEYS & {key, *app.config.get("SECRET_KEY_FALLBACKS", ())}
    if published:
        raise InsecureSecretKey("SECRET_KEY or SECRET_KEY_FALLBACKS holds a published example "
                                "value; unset SECRET_KEY to have a random key generated in the "
                                "instance folder, or set your own")


def csp_nonce() -> str:
    """This request's nonce for inline <script> and <style> elements (kept in the WSGI environ:
    flask.g can outlive a request when an app context is pushed around several)."""
    if not has_request_context():
        return secrets.token_urlsafe(16)  # a page rendered for a file: no header to match
    return request.environ.setdefault(NONCE_KEY, secrets.token_urlsafe(16))


def embeddable(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view whose page other sites may frame (EMBED_FRAME_ANCESTORS), e.g. a public board.

    Every other page refuses framing (X-Frame-Options DENY, frame-ancestors 'none').
    """
    view.embeddable = True  # type: ignore[attr-defined]
    return view


def _frame_ancestors() -> str | None:
    """The frame-ancestors source list for this request, None when framing is refused."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, "embeddable", False):
        return current_app.config.get("EMBED_FRAME_ANCESTORS", "*")
    return None


def content_security_policy(nonce: str, frame_ancestors: str | None) -> str:
    """Only this site's own resources, inline code only with this response's nonce."""
    frame = frame_ancestors or "'none'"
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {frame}",
    ])


def security_headers(response: Response) -> Response:
    """Add the security headers to every response (an after_request hook)."""
    ancestors = _frame_ancestors()
    response.headers["Content-Security-Policy"] = content_security_policy(csp_nonce(), ancestors)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Form URLs carry signed tokens: never hand them to another site.
    response.headers["Referrer-Policy"] = "same-origin"
    if ancestors is None:
        response.headers["X-Frame-Options"] = "DENY"
    return response


def rate_limited(exc: RateLimitExceeded):  # type: ignore[no-untyped-def]
    """A 429 with Retry-After and a Chinese message (JSON under /api/, a page elsewhere)."""
    from .errors import render_error
    from .extensions import limiter

    current = limiter.current_limit
    wait = math.ceil(current.reset_at - time.time()) if current is not None else 60
    seconds = max(1, wait)
    message = RATE_LIMITED.format(seconds=seconds)
    if request.path.startswith("/api/v1/sync"):
        message += QUEUE_KEPT
    response, status = render_error(429, message, "rate_limited")
    response = current_app.make_response((response, status))
    response.headers["Retry-After"] = str(seconds)
    return response


def init_app(app: Flask) -> None:
    """Secret key, proxies, security headers and the 429 answer."""
    resolve_secret_key(app)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # Each trusted proxy appends one X-Forwarded-For hop; take the client's from there.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies,  # type: ignore
                                x_host=proxies)
    app.after_request(security_headers)
    app.register_error_handler(RateLimitExceeded, rate_limited)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
