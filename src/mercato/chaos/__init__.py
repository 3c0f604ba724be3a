"""``mercato chaos``: a steady load, a seeded schedule of faults from the matrix of
docs/chaos.md §3, quiescence, and the invariants of ``mercato verify`` — per saga mode.

``schedule`` (when which fault is in force) and ``report`` (the figures a run returns, the
table, the exit code) are pure; ``faults`` holds the faults themselves (inject/heal),
``platform`` a platform of the run's own, ``run`` one mode's run from start to checks.
"""
