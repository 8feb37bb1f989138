"""Resident memory of a process and its children, sampled in the background while a benchmark runs."""
from __future__ import annotations

import threading
from pathlib import Path


class RssSampler:
    """Samples the resident memory of a process and its children every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.5):
        self.pid, self.interval, self.peak_mb, self.samples = pid, interval, 0.0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            mb = tree_rss_mb(self.pid)
            self.samples.append(mb)
            self.peak_mb = max(self.peak_mb, mb)
            self._stop.wait(self.interval)


def tree_rss_mb(pid: int) -> float:
    """RSS of `pid` and all its descendants, from /proc (Linux)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            todo += [int(c) for c in children]
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024
