"""CPU seconds of a process tree, by kind of process: who spent the machine during a benchmark.

Cumulative times only grow, so the sampler keeps each process's last reading; a process that exits
between samples keeps what it had used at the last one (the loss is at most one interval of it).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """`pid` and all its descendants, from /proc (Linux); [] when it has gone."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        found.append(current)
        todo += [int(c) for c in children]
    return found


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process (its own, not its children's), None when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def kind_of(pid: int) -> str:
    """'renderer', 'gpu-process', 'browser' ... for Chromium (its --type=), else the program's name."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
    except OSError:
        return "gone"
    for arg in argv:  # Chromium rewrites its children's argv into one space-separated string
        if arg.startswith(b"--type="):
            return arg[7:].decode(errors="replace")
    name = Path(argv[0].decode(errors="replace")).name if argv else "?"
    return "browser" if "chrom" in name else name


class CpuSampler:
    """Samples the CPU seconds of every process under `roots` ({label: pid}) every `interval` seconds;
    `totals()` sums them by label and kind, e.g. {"server": {"python": 6.1}, "load": {"renderer": 40.2}}.
    A pid found under several roots counts under the first."""

    def __init__(self, roots: dict[str, int], interval: float = 0.5):
        self.roots, self.interval = roots, interval
        self._last: dict[int, tuple[str, str, float]] = {}  # pid -> (label, kind, seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.sample()
        self._start = {pid: seconds for pid, (_, _, seconds) in self._last.items()}
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        seen: set[int] = set()
        for label, root in self.roots.items():
            for pid in descendants(root):
                if pid in seen:
                    continue
                seen.add(pid)
                seconds = cpu_seconds(pid)
                if seconds is None:
                    continue
                known = self._last.get(pid)
                kind = kind_of(pid)  # read again: Debian's chromium is a shell script that execs the browser
                self._last[pid] = (label, known[1] if kind == "gone" and known else kind, seconds)

    def totals(self) -> dict[str, dict[str, float]]:
        """CPU seconds used since entering, by root label and process kind."""
        out: dict[str, dict[str, float]] = {}
        for pid, (label, kind, seconds) in self._last.items():
            used = seconds - getattr(self, "_start", {}).get(pid, 0.0)
            by_kind = out.setdefault(label, {})
            by_kind[kind] = round(by_kind.get(kind, 0.0) + used, 1)
        return out
