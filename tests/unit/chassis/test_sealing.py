"""Sealing a card token for its trip through the streams: only the same secret and purpose
open it; another secret, another purpose or altered text is refused with SealError."""

from __future__ import annotations

import pytest

from mercato.chassis.sealing import CARD_TOKEN, Sealer, SealError

SECRET = "the-service-secret"


def test_a_sealed_value_opens_to_itself_and_does_not_show_it():
    sealer = Sealer(SECRET, CARD_TOKEN)
    sealed = sealer.seal("tok_ok")
    assert "tok_ok" not in sealed
    assert sealer.open(sealed) == "tok_ok"
    assert Sealer(SECRET, CARD_TOKEN).open(sealed) == "tok_ok"  # another process, same key


def test_sealing_the_same_value_twice_gives_different_text():
    sealer = Sealer(SECRET, CARD_TOKEN)
    first, second = sealer.seal("tok_ok"), sealer.seal("tok_ok")
    assert first != second
    assert sealer.open(first) == sealer.open(second) == "tok_ok"


def test_another_secret_cannot_open_it():
    sealed = Sealer(SECRET, CARD_TOKEN).seal("tok_ok")
    with pytest.raises(SealError):
        Sealer("another-secret", CARD_TOKEN).open(sealed)


def test_another_purpose_cannot_open_it():
    sealed = Sealer(SECRET, CARD_TOKEN).seal("tok_ok")
    with pytest.raises(SealError):
        Sealer(SECRET, "mercato/something-else").open(sealed)


def test_tampered_text_is_refused():
    sealer = Sealer(SECRET, CARD_TOKEN)
    sealed = sealer.seal("tok_ok")
    middle = len(sealed) // 2
    flipped = sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1:]
    with pytest.raises(SealError):
        sealer.open(flipped)


@pytest.mark.parametrize("garbage", ["", "not sealed at all", "tok_ok", "é-non-ascii"])
def test_text_that_was_never_sealed_is_refused(garbage):
    with pytest.raises(SealError):
        Sealer(SECRET, CARD_TOKEN).open(garbage)
