"""The mbox entry is formatted by hand; what the ``email`` package reads back from it."""

import email
import mailbox
from email import policy
from email.header import decode_header, make_header

import pytest

from mercato.services.notifications.mailer import MboxMailer, render_entry
from tests.unit.notifications.test_mbox_mailer import note


def read_back(entry: bytes, tmp_path, factory=None) -> email.message.Message:
    path = tmp_path / "one.mbox"
    path.write_bytes(entry)
    [message] = list(mailbox.mbox(path, factory=factory))
    return message


def modern(fh):
    return email.message_from_binary_file(fh, policy=policy.default)


def test_every_header_is_there_in_the_order_the_email_package_wrote_them(tmp_path):
    entry = render_entry(note(7, email="ada@example.com"), 0.0)
    assert entry.startswith(b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n")
    assert entry.endswith(b"\n\n")
    message = read_back(entry, tmp_path)
    assert message.items() == [
        ("From", "Mercato <no-reply@mercato.local>"), ("To", "ada@example.com"),
        ("Subject", "Order 7 confirmed"), ("Date", "Thu, 02 Jan 2025 03:04:05 +0000"),
        ("Message-ID", "<n-7@mercato.local>"), ("X-Mercato-User", "user-1"),
        ("X-Mercato-Kind", "order_confirmed"), ("X-Mercato-Order", "order-7"),
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", "8bit"), ("MIME-Version", "1.0")]
    assert message.get_content_charset() == "utf-8"
    assert message.get_payload() == "Thank you for order 7.\n"


@pytest.mark.parametrize("field", ["subject", "user_id", "kind", "email"])
def test_a_non_ascii_value_is_rfc2047_encoded_and_decodes_to_itself(tmp_path, field):
    value = {"email": "zoë@exämple.com"}.get(field, "Zoë’s «order» — déjà vu")
    entry = render_entry(note(1, **{field: value}), 0.0)
    head = entry.split(b"\n\n", 1)[0]
    assert head.isascii()
    header = {"subject": "Subject", "user_id": "X-Mercato-User", "kind": "X-Mercato-Kind",
              "email": "To"}[field]
    raw = read_back(entry, tmp_path)[header]
    assert raw.startswith("=?utf-8?")
    assert str(make_header(decode_header(raw))) == value
    if field != "email":  # an address with non-ASCII is no RFC 5322 address either way
        assert read_back(entry, tmp_path, modern)[header] == value


@pytest.mark.parametrize("subject", [
    "Your order 0a1b2c3d is confirmed, and this subject goes on well past the fold at 78",
    "Déjà " * 60,
    "=?utf-8?q?looks_encoded?= but is not",
    "x" * 50 + ";" + "y" * 50 + "  two blanks, then a tab\tand more " + "z," * 40,
    "one word far too long to fold " + "w" * 120,
])
def test_a_long_or_tricky_subject_reads_back_as_it_was(tmp_path, subject):
    subject = subject.strip()
    entry = render_entry(note(1, subject=subject), 0.0)
    head = entry.split(b"\n\n", 1)[0].splitlines()[1:]
    assert all(len(line) <= 78 or len(line.split()) == 1 + line.startswith(b"Subject:")
               for line in head)  # longer only for a word that does not fit
    assert read_back(entry, tmp_path, modern)["Subject"] == subject
    raw = read_back(entry, tmp_path)["Subject"].replace("\n", "")  # unfolded
    assert str(make_header(decode_header(raw))) == subject


def test_a_body_line_starting_with_from_is_quoted_and_the_rest_is_8bit_utf8(tmp_path):
    entry = render_entry(note(1, body="Hi Zoë\nFrom here on\r\nFromage\n"), 0.0)
    assert b"\nHi Zo\xc3\xab\n>From here on\nFromage\n\n" in entry
    message = read_back(entry, tmp_path, modern)
    assert message["Content-Transfer-Encoding"] == "8bit"
    assert message.get_content() == "Hi Zoë\n>From here on\nFromage\n"


def test_a_line_too_long_for_8bit_is_sent_quoted_printable(tmp_path):
    body = "é" * 500 + "\nFrom then on, short.\n"  # 1,000 octets on its first line
    entry = render_entry(note(1, body=body), 0.0)
    assert max(len(line) for line in entry.splitlines()) <= 78
    message = read_back(entry, tmp_path, modern)
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    assert message.get_content() == "é" * 500 + "\n>From then on, short.\n"
    short = read_back(render_entry(note(1, body="a" * 998), 0.0), tmp_path, modern)
    assert short["Content-Transfer-Encoding"] == "8bit"


@pytest.mark.parametrize("field", ["user_id", "kind", "order_id", "email"])
async def test_a_header_value_with_a_line_break_is_refused_and_nothing_is_written(
        tmp_path, field):
    path = tmp_path / "outbox.mbox"
    with pytest.raises(ValueError, match="one line"):
        await MboxMailer(path).send_many([note(1), note(2, **{field: "x\nBcc: eve@x.org"})])
    assert not path.exists() or path.read_bytes() == b""
