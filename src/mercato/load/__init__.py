"""``mercato load``: realistic shoppers on a running platform, through the gateway's public
API only (docs/chaos.md §1, "Why our own load loop, not Locust").

The pure parts have no I/O and are tested alone: ``plan`` (what one shopper session does,
drawn from a seeded ``random.Random``) and ``stats`` (counters and percentiles). The I/O
parts: ``shopper`` (one session over aiohttp), ``runner`` (the open and closed loops and
the run around them) and ``display`` (the live view and the final table, rich).
It knows no service: only paths of docs/api.md.
"""
