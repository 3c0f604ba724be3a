"""Orders' route for operators: ``POST /internal/projections/rebuild`` (service token),
which ``mercato projections rebuild`` calls. The rebuild runs here, in the process that
owns the database, as one transaction serialized with the projector's own."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from mercato.chassis import Principal, require_service

router = APIRouter()


@router.post("/internal/projections/rebuild")
async def rebuild_projections(request: Request,
                              _caller: Principal = Depends(require_service("cli"))) -> dict:
    """Empty every read model and replay the event store into it; the events replayed,
    the new position and the rows of each read-model table."""
    return {"service": "orders", **await request.app.state.projector.rebuild()}
