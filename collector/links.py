"""Helpers the web layer uses to turn links into URLs and tokens into rows."""

from __future__ import annotations

from flask import current_app

from qr.links import LinkSigner
from sync.link_cache import LinkCache
from sync.links import ResolvedLink, resolve_token, sign_link
from sync.models import Link

from .extensions import db


def signer() -> LinkSigner:
    return current_app.extensions["link_signer"]


def link_cache() -> LinkCache:
    return current_app.extensions["link_cache"]


def form_url(link: Link) -> str:
    """The full public URL of a link's form."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/s/{sign_link(signer(), link)}"


def resolve(token: str, accept_closed: bool = False) -> ResolvedLink:
    """:raise LinkError: when the token must not open a form (see `resolve_token`)."""
    return resolve_token(db.session, signer(), token, accept_closed=accept_closed)


def issue_receipt(link: ResolvedLink) -> str:
    """A form receipt for this opening of the link's form: proves when a rating was begun."""
    return signer().sign_receipt(link.link.id)
