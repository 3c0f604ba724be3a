"""Identity's signing keys for operators (``mercato keys``): list them, rotate them.

Internal routes, for the CLI's workload token only (``require_service("cli")``); the
rotation rules and their errors are signing.py's and the domain's, answered as errors.py
says (a rotation still in progress: 409 ``rotation-in-progress``).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request

from mercato.chassis import Principal, require_service
from mercato.chassis.clock import iso
from mercato.chassis.logging import get_logger
from mercato.services.identity.domain import KeyState, StoredKey
from mercato.services.identity.signing import KeyRing

router = APIRouter()
log = get_logger(__name__)


async def key_ring(request: Request) -> KeyRing:
    return request.app.state.identity.keys


def _when(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def _shown(key: StoredKey, state: KeyState) -> dict:
    return {"kid": key.kid, "state": state.value, "created_at": iso(key.created_at),
            "activates_at": iso(key.activates_at), "retire_after": _when(key.retire_after),
            "retired_at": _when(key.retired_at)}


@router.get("/internal/keys")
async def list_keys(_caller: Principal = Depends(require_service("cli")),
                    keys: KeyRing = Depends(key_ring)) -> dict:
    """Every signing key, oldest first, with its state now (this replica's copy)."""
    await keys.refresh()
    return {"keys": [_shown(k, s) for k, s in keys.states()]}


@router.post("/internal/keys/rotate")
async def rotate_keys(caller: Principal = Depends(require_service("cli")),
                      keys: KeyRing = Depends(key_ring)) -> dict:
    """A new signing key; the current one verifies until its tokens have expired."""
    rotation = await keys.rotate()
    log.info("signing_keys_rotated_by", caller=caller.subject, kid=rotation.new.kid)
    states = dict((k.kid, s) for k, s in keys.states())
    result = {"new": _shown(rotation.new, states[rotation.new.kid])}
    if rotation.previous is not None:
        result["previous"] = _shown(rotation.previous, states[rotation.previous.kid])
    return result
