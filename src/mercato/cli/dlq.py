"""``mercato dlq list`` and ``mercato dlq replay <seq>``: the dead-letter stream, read and
replayed through the chassis (mercato.chassis.messaging.dlq)."""

from __future__ import annotations

import contextlib

from rich.console import Console
from rich.table import Table

from mercato.chassis.messaging import DeadLetter, list_dead_letters, replay_dead_letter
from mercato.platform.audit import record
from mercato.platform.running import connect

COLUMNS = ("seq", "consumer", "event type", "event id", "attempts", "failed at", "error")


def dead_letter_table(letters: list[DeadLetter], title: str) -> Table:
    table = Table(title=title)
    for col in COLUMNS:
        # ids and times stay whole (they are copied); the error wraps
        table.add_column(col, overflow="fold", no_wrap=col != "error",
                         min_width=20 if col == "error" else None)
    for d in letters:
        table.add_row(str(d.seq), d.consumer, d.event_type, d.event_id, str(d.attempts),
                      d.failed_at, d.error)
    return table


async def dead_letters(js, limit: int) -> list[DeadLetter]:
    return await list_dead_letters(js, limit=limit)


async def show_dead_letters(nats_url: str, console: Console, limit: int = 100, *,
                            login: dict[str, str] | None = None) -> int:
    nc = await connect(nats_url, login)
    try:
        letters = await dead_letters(nc.jetstream(), limit)
    finally:
        with contextlib.suppress(Exception):
            await nc.close()
    if not letters:
        console.print("No dead letters.")
        return 0
    console.print(dead_letter_table(letters, f"Dead letters ({len(letters)}, oldest first)"))
    console.print("Replay one, once its cause is fixed: mercato dlq replay <seq>")
    return 0


async def replay(nats_url: str, seq: int, console: Console, *,
                 login: dict[str, str] | None = None) -> int:
    nc = await connect(nats_url, login)
    try:
        command = f"mercato dlq replay {seq}"
        try:
            letter = await replay_dead_letter(nc.jetstream(), seq)
        except LookupError:
            console.print(f"[red]error:[/] there is no dead letter with sequence {seq} "
                          "(see `mercato dlq list`)")
            await record(nc.jetstream(), command, 1, "no such dead letter", console.print)
            return 1
        await record(nc.jetstream(), command, 0,
                     f"{letter.event_type} {letter.event_id} to {letter.subject}",
                     console.print)
    finally:
        with contextlib.suppress(Exception):
            await nc.close()
    console.print(f"Replayed dead letter {seq}: {letter.event_type} {letter.event_id} "
                  f"to {letter.subject} (it failed in {letter.consumer}); consumers that "
                  "handled it already skip it.", highlight=False)
    return 0
