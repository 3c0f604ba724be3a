"""`mercato events tail` against a real nats-server: it follows every event stream with
ordered consumers, not the dead letters, honours --subject, --from-start and --json, picks
up a stream created after it started, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import nats
import pytest

from mercato.chassis.clock import iso, new_id, utc_now
from mercato.chassis.messaging import ensure_streams
from mercato.cli.events import Tail
from mercato.contracts.envelope import Envelope

pytestmark = pytest.mark.integration


async def publish(js, source: str, type_name: str, **payload) -> Envelope:
    envelope = Envelope(id=new_id(), type=type_name, source=source,
                        occurred_at=iso(utc_now()), correlation_id=f"req-{type_name}",
                        payload=payload)
    await js.publish(envelope.subject, envelope.model_dump_json().encode(),
                     headers={"Nats-Msg-Id": envelope.id})
    return envelope


async def until(predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_ctrl_c_stops_a_tail_that_printed_new_events_but_no_dead_letters(
        nats_url, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "state.json").write_text(json.dumps({"nats_url": nats_url}))
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js, "tailorders", "tailpay")
    old = await publish(js, "tailorders", "OrderPlaced", order_id="o-old")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mercato", "events", "tail",
        env=dict(os.environ, MERCATO_DATA_DIR=str(tmp_path)),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        notice = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
        assert "Following mercato.>" in notice
        assert "MERCATO_TAILORDERS" in notice and "MERCATO_DLQ" not in notice
        await js.publish("mercato.dlq.someone__orders", b"{}", headers={"Nats-Msg-Id": "x"})
        sent = await publish(js, "tailorders", "OrderPlaced", order_id="o-1",
                             customer_id="u-1", total=5)
        paid = await publish(js, "tailpay", "PaymentCaptured", payment_id="pay-1",
                             order_id="o-1")
        first = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        second = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        lines = sorted([first, second])  # two streams: no order between them
        assert lines[0].split()[2:] == ["tailorders", "OrderPlaced", "order_id=o-1",
                                        "customer_id=u-1", f"corr={sent.correlation_id}"]
        assert lines[1].split()[2:] == ["tailpay", "PaymentCaptured", "payment_id=pay-1",
                                        "order_id=o-1", f"corr={paid.correlation_id}"]
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        rest = (await proc.stdout.read()).decode()
        # only new events without --from-start
        assert old.payload["order_id"] not in first + second + rest
        assert "dlq" not in rest
        assert "Traceback" not in (await proc.stderr.read()).decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await nc.close()


async def test_from_start_subject_filter_json_and_a_late_stream(nats_url):
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js, "tailship", "tailcart")
    early = await publish(js, "tailship", "ShipmentScheduled", shipment_id="s-1")
    await publish(js, "tailcart", "CartEmptied", cart_id="c-1")
    lines: list[str] = []
    notices: list[str] = []
    tail = Tail(nc, subject="mercato.tailship.>", from_start=True, as_json=True,
                emit=lines.append)
    stop = asyncio.Event()
    runner = asyncio.create_task(tail.run(stop, notices.append, rescan=0.1))
    try:
        await until(lambda: len(lines) == 1)
        assert json.loads(lines[0]) == json.loads(early.model_dump_json())  # raw envelope
        assert list(tail.subscribed) == ["MERCATO_TAILSHIP"]  # the filter left tailcart out
        later = await publish(js, "tailship", "ShipmentCancelled", shipment_id="s-1")
        await until(lambda: len(lines) == 2)
        assert json.loads(lines[1])["id"] == later.id
    finally:
        stop.set()
        assert await runner == 0
        await tail.close()

    late: list[str] = []
    tail = Tail(nc, subject="mercato.taillate.>", emit=late.append)
    stop = asyncio.Event()
    runner = asyncio.create_task(tail.run(stop, notices.append, rescan=0.1))
    try:
        await until(lambda: any("No event stream" in n for n in notices))
        await ensure_streams(js, "taillate")  # a service that starts after the tail
        await until(lambda: "MERCATO_TAILLATE" in tail.subscribed)
        await publish(js, "taillate", "Arrived", parcel_id="p-1")
        await until(lambda: len(late) == 1)
        assert late[0].split()[2:5] == ["taillate", "Arrived", "parcel_id=p-1"]
    finally:
        stop.set()
        assert await runner == 0
        await tail.close()
        await nc.close()
