"""The session plan: deterministic for a seed, following the shares of its Mix."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from mercato.load.plan import Mix, Planner, Product, arrivals, search_words

PRODUCTS = [Product(f"p{i}", name, cat) for i, (name, cat) in enumerate([
    ("Enamel camping mug", "kitchen"), ("Chef's knife 20 cm", "kitchen"),
    ("Wool socks", "clothing"), ("Rain jacket", "clothing"), ("Desk lamp", "home")])]


def plans(seed: int, n: int, mix: Mix | None = None, customers: int = 7):
    planner = Planner(random.Random(seed), PRODUCTS, customers, mix)
    return [planner.next() for _ in range(n)]


def test_the_same_seed_gives_the_same_sessions_and_another_seed_others():
    assert plans(1, 200) == plans(1, 200)
    assert plans(1, 200) != plans(2, 200)


def test_sessions_follow_the_shares_of_the_mix():
    mix = Mix(decline_share=0.2, error_share=0.1, cancel_share=0.25, from_cart_share=0.5)
    sessions = plans(3, 4000, mix)
    cards = Counter(s.card for s in sessions)
    assert cards["tok_decline"] / 4000 == pytest.approx(0.2, abs=0.03)
    assert cards["tok_error"] / 4000 == pytest.approx(0.1, abs=0.02)
    assert cards["tok_ok"] / 4000 == pytest.approx(0.7, abs=0.03)
    assert sum(s.cancel for s in sessions) / 4000 == pytest.approx(0.25, abs=0.03)
    assert sum(s.from_cart for s in sessions) / 4000 == pytest.approx(0.5, abs=0.03)
    assert sum(s.category is not None for s in sessions) / 4000 == pytest.approx(0.4, abs=0.03)
    assert sum(s.search is not None for s in sessions) / 4000 == pytest.approx(0.6, abs=0.03)


def test_a_session_shops_the_catalog_one_to_three_products_one_or_two_each():
    ids = {p.id for p in PRODUCTS}
    words = set(search_words(PRODUCTS))
    for s in plans(4, 500):
        assert 1 <= len(s.lines) <= 3
        assert len({p for p, _ in s.lines}) == len(s.lines)  # distinct products
        assert all(p in ids and 1 <= q <= 2 for p, q in s.lines)
        assert s.view == s.lines[0][0]
        assert s.category in (None, "kitchen", "clothing", "home")
        assert s.search is None or s.search in words
        assert 0 <= s.customer < 7
    assert {len(s.lines) for s in plans(4, 500)} == {1, 2, 3}


def test_search_words_come_from_the_names():
    assert search_words(PRODUCTS[:2]) == ["camping", "chef", "enamel", "knife", "mug"]


def test_no_cancel_and_no_bad_cards_when_their_shares_are_zero():
    sessions = plans(5, 300, Mix(decline_share=0, error_share=0, cancel_share=0))
    assert {s.card for s in sessions} == {"tok_ok"}
    assert not any(s.cancel for s in sessions)


@pytest.mark.parametrize("kwargs", [{"cancel_share": 1.5}, {"decline_share": -0.1},
                                    {"decline_share": 0.7, "error_share": 0.5},
                                    {"max_lines": 0}])
def test_a_mix_refuses_impossible_shares(kwargs):
    with pytest.raises(ValueError):
        Mix(**kwargs)


def test_a_planner_needs_products_and_customers():
    with pytest.raises(ValueError):
        Planner(random.Random(1), [], 3)
    with pytest.raises(ValueError):
        Planner(random.Random(1), PRODUCTS, 0)


def test_arrivals_are_a_seeded_poisson_process_within_the_duration():
    times = arrivals(random.Random(9), rate=50, duration=100)
    assert times == arrivals(random.Random(9), rate=50, duration=100)
    assert times == sorted(times) and 0 < times[0] and times[-1] < 100
    assert len(times) == pytest.approx(5000, rel=0.05)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert sum(gaps) / len(gaps) == pytest.approx(0.02, rel=0.05)
    with pytest.raises(ValueError):
        arrivals(random.Random(9), rate=0, duration=1)
