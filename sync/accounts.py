"""Cadre accounts: unit secretaries and the units they may see."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from .models import Role, Unit, User

MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """An account change was refused; the message is shown to the admin."""


def check_password_strength(password: str) -> None:
    """:raise AccountError: the password is too short to keep an account safe."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少 {MIN_PASSWORD_LENGTH} 位。")


def create_user(session: Session, username: str, password: str, role: Role = Role.SECRETARY,
                display_name: str | None = None, units: Iterable[Unit] = ()) -> User:
    """Create an account with a hashed password.

    :raise AccountError: the username is taken or the password is too short.
    """
    username = username.strip()
    if not username:
        raise AccountError("请填写用户名。")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"用户名“{username}”已被使用。")
    check_password_strength(password)
    user = User(username=username, role=role, display_name=display_name or None,
                password_hash=generate_password_hash(password), units=list(units))
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Replace the user's password.

    :raise AccountError: the password is too short.
    """
    check_password_strength(password)
    user.password_hash = generate_password_hash(password)


def assign_units(session: Session, user: User, unit_ids: Iterable[int]) -> None:
    """Make `unit_ids` exactly the units the user may see."""
    ids = set(unit_ids)
    user.units = list(session.scalars(select(Unit).where(Unit.id.in_(ids)))) if ids else []
    session.flush()
