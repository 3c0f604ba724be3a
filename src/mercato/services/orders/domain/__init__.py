"""The orders domain: the order aggregate and the checkout saga's rules. No I/O here."""
