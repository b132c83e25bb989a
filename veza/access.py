"""Who may see and change what: one place for the catalogue's access rules.

A public track or playlist is visible to anyone and listed; an unlisted one is visible to anyone
who has its id (a link) but never listed or searched; a private one only to its owner and admins.
Only the owner or an admin changes or deletes. A resource someone may not see answers 404, as if
it did not exist, so ids of private things do not leak.
"""

from __future__ import annotations

from uuid import UUID

from veza.accounts import Principal
from veza.errors import ForbiddenError, NotFoundError

VISIBILITIES = ("public", "unlisted", "private")


def can_see(owner_id: UUID, visibility: str, who: Principal | None) -> bool:
    if visibility in ("public", "unlisted"):
        return True
    return who is not None and (who.user_id == owner_id or who.role == "admin")


def can_change(owner_id: UUID, who: Principal | None) -> bool:
    return who is not None and (who.user_id == owner_id or who.role == "admin")


def check_visible(kind: str, object_id: UUID, owner_id: UUID, visibility: str,
                  who: Principal | None) -> None:
    """Raise NotFoundError unless ``who`` may see the object."""
    if not can_see(owner_id, visibility, who):
        raise NotFoundError(f"no {kind} with id {object_id}")


def check_owner(kind: str, object_id: UUID, owner_id: UUID, visibility: str,
                who: Principal | None) -> None:
    """Raise NotFoundError if ``who`` may not see the object, ForbiddenError if they may see but
    not change it."""
    check_visible(kind, object_id, owner_id, visibility, who)
    if not can_change(owner_id, who):
        raise ForbiddenError(f"only the owner of this {kind} may change it")
