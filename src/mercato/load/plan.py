"""What one shopper session does, decided up front and without I/O.

Every random choice of a load run is drawn here from one ``random.Random`` seeded by
``--seed``: which customer, whether to browse a category and search, which products and
how many, the card token, whether to check out from the cart and whether to cancel right
after placing; and the open loop's arrival times. The same seed and catalog give the same
sessions in the same order, so two runs differ only in what the platform did.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

CARDS = ("tok_ok", "tok_decline", "tok_error")
WORD = re.compile(r"[A-Za-z]{3,}")


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    category: str


@dataclass(frozen=True)
class Mix:
    """The shares of a session's choices (each 0..1)."""

    decline_share: float = 0.10  # card tok_decline: the payment is declined
    error_share: float = 0.05  # card tok_error: the provider fails every time
    cancel_share: float = 0.10  # the customer cancels right after placing
    category_share: float = 0.4  # browse one category, not only the first page
    search_share: float = 0.6  # search for a word of a product's name
    from_cart_share: float = 0.5  # check out with "from_cart": true, not the items
    max_lines: int = 3  # distinct products put in the cart: 1..max_lines
    max_quantity: int = 2  # units of each: 1..max_quantity

    def __post_init__(self) -> None:
        for name in ("decline_share", "error_share", "cancel_share", "category_share",
                     "search_share", "from_cart_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.decline_share + self.error_share > 1.0:
            raise ValueError("decline_share + error_share must be at most 1")
        if self.max_lines < 1 or self.max_quantity < 1:
            raise ValueError("max_lines and max_quantity must be at least 1")


@dataclass(frozen=True)
class SessionPlan:
    """One shopper's visit: browse, maybe a category, maybe a search, view a product, put
    ``lines`` in the cart, check out with ``card``, maybe cancel, follow the order."""

    number: int
    customer: int  # index in the customer pool
    category: str | None
    search: str | None
    view: str  # product id
    lines: tuple[tuple[str, int], ...] = field(default_factory=tuple)  # (product id, qty)
    from_cart: bool = False
    card: str = "tok_ok"
    cancel: bool = False


def search_words(products: list[Product]) -> list[str]:
    """Words of three letters or more from the products' names, lower case, sorted."""
    return sorted({w.lower() for p in products for w in WORD.findall(p.name)})


class Planner:
    """Draws sessions one after another from ``rng`` for a fixed catalog and pool."""

    def __init__(self, rng: random.Random, products: list[Product], customers: int,
                 mix: Mix | None = None) -> None:
        if not products:
            raise ValueError("no products to shop for")
        if customers < 1:
            raise ValueError("at least one customer")
        self.rng, self.products, self.customers = rng, list(products), customers
        self.mix = mix or Mix()
        self.categories = sorted({p.category for p in products if p.category})
        self.words = search_words(products)
        self.count = 0

    def card(self) -> str:
        x = self.rng.random()
        if x < self.mix.decline_share:
            return "tok_decline"
        if x < self.mix.decline_share + self.mix.error_share:
            return "tok_error"
        return "tok_ok"

    def next(self) -> SessionPlan:
        rng, mix = self.rng, self.mix
        customer = rng.randrange(self.customers)
        category = (rng.choice(self.categories)
                    if self.categories and rng.random() < mix.category_share else None)
        search = rng.choice(self.words) if self.words and rng.random() < mix.search_share \
            else None
        n = rng.randint(1, min(mix.max_lines, len(self.products)))
        chosen = rng.sample(self.products, n)
        lines = tuple((p.id, rng.randint(1, mix.max_quantity)) for p in chosen)
        from_cart = rng.random() < mix.from_cart_share
        card = self.card()
        cancel = rng.random() < mix.cancel_share
        self.count += 1
        return SessionPlan(self.count, customer, category, search, chosen[0].id, lines,
                           from_cart, card, cancel)


def arrivals(rng: random.Random, rate: float, duration: float) -> list[float]:
    """Intended start times (seconds from the run's start) of a Poisson process at
    ``rate`` per second, below ``duration``: exponential gaps, so bursts happen as they
    do with real shoppers."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    times, t = [], 0.0
    while True:
        t += rng.expovariate(rate)
        if t >= duration:
            return times
        times.append(t)
