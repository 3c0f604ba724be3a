"""The orders domain: the order aggregate and its events, and the checkout saga's rules.
No I/O here."""
