"""``mercato trace <trace id | order id>``: one trace of the running platform, read from
its embedded trace store (``trace_store_url`` in ``<data dir>/run/state.json``), drawn as a
waterfall. An order id shows the newest trace that names the order."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from rich.console import Console

from mercato.cli.waterfall import waterfall
from mercato.platform.running import NotRunning, running_state
from mercato.tracestore.queries import TRACE_ID

TIMEOUT = 10.0


class TraceNotFound(Exception):
    """Nothing in the store for that reference (the message says what was looked for)."""


def store_url(data_dir: Path) -> str:
    """The running platform's trace store; ``NotRunning`` when there is none to read."""
    state = running_state(data_dir)
    url = state.get("trace_store_url")
    if not url:
        raise NotRunning("this platform keeps no trace store: `mercato up` was started with "
                         "OTEL_EXPORTER_OTLP_ENDPOINT set, so spans went to that back end")
    return url


async def find_trace(http: aiohttp.ClientSession, url: str, ref: str
                     ) -> tuple[dict, list[str]]:
    """The trace ``ref`` names (a trace id, else an order id: its newest trace) and the
    ids of the other traces that name the same order."""
    ref = ref.strip()
    if TRACE_ID.match(ref.lower()):
        async with http.get(f"{url}/traces/{ref.lower()}") as r:
            if r.status == 200:
                return await r.json(), []
            if r.status != 404:
                raise TraceNotFound(f"the trace store answered {r.status}")
    async with http.get(f"{url}/traces", params={"order_id": ref, "limit": "20"}) as r:
        if r.status != 200:
            detail = (await r.json(content_type=None) or {}).get("detail", r.status)
            raise TraceNotFound(f"the trace store refused the query: {detail}")
        items = (await r.json())["items"]
    if not items:
        raise TraceNotFound(f"no trace with id {ref!r} and none naming order {ref!r} (spans "
                            "reach the store about a second after they end; the oldest "
                            "traces are dropped past the store's bound)")
    async with http.get(f"{url}/traces/{items[0]['trace_id']}") as r:
        if r.status != 200:
            raise TraceNotFound(f"trace {items[0]['trace_id']} is no longer in the store")
        return await r.json(), [i["trace_id"] for i in items[1:]]


async def show_trace(data_dir: Path, ref: str, console: Console) -> int:
    """Print the waterfall of the trace ``ref`` names; 1 when there is none to show."""
    url = store_url(data_dir)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http:
            trace, others = await find_trace(http, url, ref)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise NotRunning(f"the trace store at {url} does not answer "
                         f"({type(exc).__name__}); is `mercato up` running?") from None
    except TraceNotFound as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        return 1
    spans = trace["spans"]
    services = sorted({s["service"] for s in spans})
    console.print(waterfall(spans, title=f"trace {trace['trace_id']}: {len(spans)} spans "
                                         f"from {', '.join(services)}"))
    if others:
        console.print(f"{len(others)} older trace(s) name this order too: "
                      + " ".join(others), highlight=False)
    return 0
