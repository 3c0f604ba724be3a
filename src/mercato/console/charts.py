"""Small line charts drawn on the server as SVG: no chart library, no inline style (the
page's Content-Security-Policy allows none); each series' colour is a CSS class."""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH, HEIGHT = 400, 140
LEFT, BOTTOM, TOP = 36, 16, 6
COLOURS = 10


@dataclass
class Line:
    name: str
    points: str  # the polyline's "x,y x,y ..."
    css: str
    last: float | None


@dataclass
class Chart:
    title: str
    unit: str
    top: float
    lines: list[Line]
    span_s: float

    @property
    def empty(self) -> bool:
        return not self.lines


def nice_top(value: float) -> float:
    """A round upper bound for the y axis (1, 2, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    step = 10.0 ** math.floor(math.log10(value))
    return next(step * f for f in (1, 2, 5, 10) if step * f >= value * (1 - 1e-9))


def chart(title: str, unit: str, times: list[float],
          series: dict[str, list[float | None]]) -> Chart:
    """One chart: a line per series over ``times`` (unix seconds); None values are gaps."""
    values = [v for vs in series.values() for v in vs if v is not None]
    top = nice_top(max(values, default=0.0))
    t0, t1 = (times[0], times[-1]) if times else (0.0, 1.0)
    span = max(t1 - t0, 1e-9)
    plot_w, plot_h = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    lines = []
    for n, (name, vs) in enumerate(sorted(series.items())):
        coords = [f"{LEFT + (t - t0) / span * plot_w:.1f},"
                  f"{TOP + plot_h - (v / top) * plot_h:.1f}"
                  for t, v in zip(times, vs, strict=True) if v is not None]
        if coords:
            last = next((v for v in reversed(vs) if v is not None), None)
            lines.append(Line(name, " ".join(coords), f"s{n % COLOURS}", last))
    return Chart(title, unit, top, lines, span if times else 0.0)


def platform_charts(points: list[dict]) -> list[Chart]:
    """The metrics page's charts from ``GET /api/v1/ops/metrics/series`` points."""
    times = [p["at"] for p in points]
    services = sorted({s for p in points for s in p["services"]} - {"-"})

    def per_service(key: str) -> dict[str, list[float | None]]:
        found = {s: [p["services"].get(s, {}).get(key) for p in points] for s in services}
        return {s: vs for s, vs in found.items() if any(v for v in vs)}

    outcomes = sorted({o for p in points for o in p["checkouts"]} | {"confirmed", "cancelled"})
    checkouts = {o: [float(p["checkouts"].get(o, 0)) for p in points] for o in outcomes}
    return [chart("Requests per second", "req/s", times, per_service("rps")),
            chart("Errors (5xx) per second", "err/s", times, per_service("errors")),
            chart("p95 latency", "ms", times, per_service("p95_ms")),
            chart("Checkouts ended per interval", "checkouts", times, checkouts)]
