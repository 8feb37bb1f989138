"""Resident memory of a process and its children, sampled in the background while a benchmark runs."""
from __future__ import annotations

import threading
from pathlib import Path


class RssSampler:
    """Samples the resident memory of a process and its children every `interval` seconds; `hwm_mb` is
    the kernel's own peak of the process itself (VmHWM), which no sampling gap can miss."""

    def __init__(self, pid: int, interval: float = 0.5):
        self.pid, self.interval, self.peak_mb, self.hwm_mb, self.samples = pid, interval, 0.0, 0.0, []
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
            try:
                self.hwm_mb = max(self.hwm_mb, _status(self.pid)["VmHWM"] / 1024)
            except (OSError, KeyError):
                pass
            self._stop.wait(self.interval)


def _status(pid: int) -> dict[str, int]:
    """The kB fields of /proc/PID/status (VmRSS, VmSize ...)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            fields[name] = int(value.split()[0])
    return fields


def tree_rss_mb(pid: int) -> float:
    """RSS of `pid` and all its descendants, from /proc (Linux).

    A child with exactly its parent's address-space size is not counted: that is a child between
    fork (or vfork, which shares the parent's memory outright) and exec, e.g. the `ldconfig -p` that
    importing torch runs. Its RSS is the parent's pages over again, so counting it would double the
    server's figure for that instant (a 1.7 GB "peak" for 0.85 GB twice).
    """
    total, todo = 0, [(pid, None)]
    while todo:
        current, parent_size = todo.pop()
        try:
            status = _status(current)
            if parent_size is None or status.get("VmSize") != parent_size:
                total += status["VmRSS"]
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            todo += [(int(c), status.get("VmSize")) for c in children]
        except (OSError, KeyError, ValueError):
            continue
    return total / 1024
