"""Real-name booking in tests that book for several people from one account."""

from __future__ import annotations

from trafficdesk.accounts import realname
from trafficdesk.accounts.models import User


def may_book_for(holder: User, number: str, relation: str = "child") -> str:
    """Let `holder` book for the ID `number` as the real-name rule allows: bind it when the
    account has no ID yet, else declare the person a family member (unless already one, or
    the account's own). Returns the number."""
    identity = realname.identity_of(holder)
    if identity is None:
        realname.bind_identity(holder, number)
        return number
    try:
        realname.declare_family_member(holder, number, "", relation)
    except realname.RealNameRefused as refused:
        if refused.code not in {"realname.self", "realname.declared"}:
            raise
    return number
