"""Timings from the browser benchmarks: percentiles, a one-line summary, and the slider latencies
that `bench.drive.slider_change` measures."""

from __future__ import annotations

from dataclasses import dataclass, field


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"p50 {percentile(values, 50):7.1f} ms   p95 {percentile(values, 95):7.1f} ms   "
        f"max {max(values):7.1f} ms   (n={len(values)})"
    )


@dataclass
class Latency:
    """Slider change timings in ms: server round trips, and the in-browser redraw per input event."""

    server: list[float] = field(default_factory=list)
    first_image: list[float] = field(default_factory=list)
    redraw: list[float] = field(default_factory=list)
    frame: list[float] = field(default_factory=list)
    started: list[float] = field(default_factory=list)  # the page shows the script running again
    ended: list[float] = field(default_factory=list)  # ... and not running
    loaded: list[float] = field(default_factory=list)  # every image on the page new and loaded
    image_serve: list[float] = field(default_factory=list)  # one new image: request sent to response ended
    timeouts: int = 0

    def add(self, result: dict) -> None:
        if result.get("server") is None:
            self.timeouts += 1
        else:
            self.server.append(result["server"])
            self.first_image.append(result["firstImage"])
            for name, key in (("started", "started"), ("ended", "ended"), ("loaded", "allLoaded")):
                if result.get(key) is not None:
                    getattr(self, name).append(result[key])
            self.image_serve.extend(f["serve"] for f in result.get("fetches", []))
        self.redraw.extend(result.get("redraw", []))
        if "frame" in result:
            self.frame.append(result["frame"])
