"""Dead letters: messages that exhausted their retries, each inspectable (its error and the
envelope as published), and **Replay** (with a confirmation) which delivers it again to the
consumer that gave up on it; the page after a replay follows that consumer until it has
consumed the replayed copy."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from mercato.console.access import admin
from mercato.pages import PageKit

STREAM = re.compile(r"^MERCATO_[A-Z0-9_]{1,40}$")
CONSUMER = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def routes(kit: PageKit) -> list[Route]:
    async def listing(request: Request):
        await admin(kit, request)
        reply = await kit.call(request, "GET", "/api/v1/ops/dead-letters")
        if not reply.ok:
            raise HTTPException(503, f"The dead letters cannot be read: {reply.problem()}")
        letters = list(reversed(reply.json()["items"]))  # newest first
        return kit.render(request, "dead_letters.html",
                          {"letters": letters, "active": "dead-letters"})

    async def one(request: Request, message: str | None = None, status: int = 200):
        await admin(kit, request)
        seq = request.path_params["seq"]
        reply = await kit.call(request, "GET", f"/api/v1/ops/dead-letters/{seq}")
        if reply.status == 404:
            raise HTTPException(404, message or f"There is no dead letter {seq}: it may have "
                                "been replayed already.")
        if not reply.ok:
            raise HTTPException(503, f"The dead letter cannot be read: {reply.problem()}")
        letter = reply.json()
        return kit.render(request, "dead_letter.html", {
            "letter": letter, "message": message, "active": "dead-letters",
            "payload": json.dumps(letter["payload"], indent=2, sort_keys=True)},
            status=status)

    async def replay(request: Request):
        await kit.form(request)
        await admin(kit, request)
        seq = request.path_params["seq"]
        reply = await kit.call(request, "POST", f"/api/v1/ops/dead-letters/{seq}/replay")
        if reply.status == 404:
            raise HTTPException(404, f"There is no dead letter {seq}: it may have been "
                                "replayed already.")
        if not reply.ok:
            return await one(request, f"The replay failed: {reply.problem()}", 503)
        done = reply.json()
        query = {"stream": done["stream"], "seq": done["stream_seq"],
                 "consumer": done["consumer"], "type": done["replayed"]["event_type"],
                 "event": done["replayed"]["event_id"]}
        return kit.redirect(request, "/console/dead-letters/replayed?" + urlencode(query))

    async def position(request: Request) -> dict:
        await admin(kit, request)
        q = request.query_params
        stream, consumer, seq = q.get("stream", ""), q.get("consumer", ""), q.get("seq", "")
        if not (STREAM.match(stream) and CONSUMER.match(consumer) and seq.isdigit()):
            raise HTTPException(400, "This replay link is incomplete.")
        reply = await kit.call(request, "GET",
                               f"/api/v1/ops/consumers/{stream}/{consumer}?seq={seq}")
        return {"replay": {"stream": stream, "consumer": consumer, "seq": seq,
                           "type": q.get("type", "")[:100], "event": q.get("event", "")[:100]},
                "position": reply.json() if reply.ok else None,
                "problem": None if reply.ok else reply.problem(),
                "query": urlencode({k: q.get(k, "") for k in
                                    ("stream", "seq", "consumer", "type", "event")}),
                "active": "dead-letters"}

    async def replayed(request: Request):
        return kit.render(request, "replayed.html", await position(request))

    async def replayed_live(request: Request):
        return kit.render(request, "_replay_status.html", await position(request))

    return [Route("/dead-letters", listing),
            Route("/dead-letters/replayed", replayed),
            Route("/dead-letters/replayed/live", replayed_live),
            Route("/dead-letters/{seq:int}", one),
            Route("/dead-letters/{seq:int}/replay", replay, methods=["POST"])]
