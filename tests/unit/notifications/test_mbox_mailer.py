"""The mbox mailer writes messages that the standard library's mbox reader reads back."""

import asyncio
import email
import mailbox
from email import policy

from mercato.services.notifications.domain import Notification
from mercato.services.notifications.mailer import MboxMailer


def modern(fh):
    return email.message_from_binary_file(fh, policy=policy.default)


def note(n: int = 1, **changes) -> Notification:
    fields = dict(id=f"n-{n}", user_id="user-1", kind="order_confirmed",
                  subject=f"Order {n} confirmed", body=f"Thank you for order {n}.",
                  order_id=f"order-{n}", email=None, created_at="2025-01-02T03:04:05Z")
    fields.update(changes)
    return Notification(**fields)


async def test_each_notification_becomes_one_readable_message(tmp_path):
    path = tmp_path / "notifications" / "outbox.mbox"
    mailer = MboxMailer(path)
    await mailer.send(note(1))
    await mailer.send(note(2, email="ada@example.com", order_id=None))
    box = mailbox.mbox(path)
    first, second = list(box)
    assert (first["To"], first["Subject"]) == ("user-1", "Order 1 confirmed")
    assert first["Message-ID"] == "<n-1@mercato.local>"
    assert first["X-Mercato-Order"] == "order-1"
    assert first["X-Mercato-Kind"] == "order_confirmed"
    assert first.get_payload(decode=True).decode().strip() == "Thank you for order 1."
    assert second["To"] == "ada@example.com"
    assert second["X-Mercato-Order"] is None
    assert b"Thank you for order 2." in path.read_bytes()  # readable as plain text


async def test_non_ascii_text_and_a_body_line_starting_with_from_survive(tmp_path):
    path = tmp_path / "outbox.mbox"
    await MboxMailer(path).send(note(subject="Déjà vu — ünïcode",
                                     body="Hello Zoë\nFrom now on, thanks.\n"))
    await MboxMailer(path).send(note(2))
    box = list(mailbox.mbox(path, factory=modern))
    assert len(box) == 2
    assert box[0]["Subject"] == "Déjà vu — ünïcode"
    body = box[0].get_content()
    assert "Hello Zoë" in body
    assert "From now on" in body  # quoted as ">From" on disk, so not a message boundary
    assert "Hello Zoë".encode() in path.read_bytes()


async def test_concurrent_sends_never_interleave(tmp_path):
    path = tmp_path / "outbox.mbox"
    mailer = MboxMailer(path)
    await asyncio.gather(*(mailer.send(note(i, body="line\n" * 200)) for i in range(30)))
    box = list(mailbox.mbox(path))
    assert sorted(m["Message-ID"] for m in box) == sorted(f"<n-{i}@mercato.local>"
                                                           for i in range(30))
    assert all(m.get_payload(decode=True).decode() == "line\n" * 200 for m in box)


async def test_a_batch_is_appended_in_order_with_one_thread_hop_and_one_fsync(
        tmp_path, monkeypatch):
    import mercato.services.notifications.mailer as mailer_module
    hops, syncs = [], []
    real_to_thread, real_fsync = asyncio.to_thread, mailer_module.os.fsync
    monkeypatch.setattr(mailer_module.asyncio, "to_thread",
                        lambda *a: hops.append(1) or real_to_thread(*a))
    monkeypatch.setattr(mailer_module.os, "fsync", lambda fd: syncs.append(fd) or real_fsync(fd))
    path = tmp_path / "outbox.mbox"
    mailer = MboxMailer(path)
    await mailer.send_many([note(i) for i in range(1, 51)])
    await mailer.send_many([])
    assert (len(hops), len(syncs)) == (1, 1)
    assert [m["Message-ID"] for m in mailbox.mbox(path)] == [
        f"<n-{i}@mercato.local>" for i in range(1, 51)]


async def test_a_failed_append_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    import mercato.services.notifications.mailer as mailer_module
    path = tmp_path / "outbox.mbox"
    mailer = MboxMailer(path)
    await mailer.send(note(1))
    before = path.read_bytes()

    def full_disk(fd):
        raise OSError(28, "No space left on device (scripted)")

    monkeypatch.setattr(mailer_module.os, "fsync", full_disk)
    try:
        await mailer.send_many([note(2), note(3)])
    except OSError:
        pass
    else:
        raise AssertionError("the failed append did not raise")
    assert path.read_bytes() == before
    assert [m["Message-ID"] for m in mailbox.mbox(path)] == ["<n-1@mercato.local>"]
