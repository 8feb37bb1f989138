"""Repeated browser runs summarised the same way by every benchmark that times a few of them."""
from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from pathlib import Path


def p95(values: list[float]) -> float:
    """The 95th percentile by nearest rank (with 5 runs: the largest)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def repeat(run: Callable[[int], dict[str, float]], runs: int, json_path: str | None = None) -> dict:
    """Call `run(i)` `runs` times (each returns seconds by name), print each and the median, p95 and
    maximum of every figure; write them all to `json_path` when given."""
    results = []
    for i in range(runs):
        results.append(run(i))
        print(i, {k: round(v, 2) for k, v in results[-1].items()}, flush=True)
    summary = {key: {"median": statistics.median(r[key] for r in results), "p95": p95([r[key] for r in results]),
                     "max": max(r[key] for r in results)} for key in results[0]}
    for key, figures in summary.items():
        print(f"{key}: median {figures['median']:.2f} s, p95 {figures['p95']:.2f} s, max {figures['max']:.2f} s")
    if json_path:
        Path(json_path).write_text(json.dumps({"runs": results, "summary": summary}, indent=2))
    return summary
