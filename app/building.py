"""The owner's build button on Home: the bundled sample catalog, with Streamlit progress bars.

One build at a time per server process: a second session that presses the button is told a build is
running instead of starting another full-CPU job.
"""
from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from builder import BuildConfig, build_catalog

_ONE_BUILD = threading.Lock()


class StreamlitProgress:
    """The builder's Progress protocol, drawn as a Streamlit progress bar."""

    def __init__(self, desc: str, total: int, unit: str = "img"):
        self.desc, self.total, self.unit, self.done = desc, max(int(total), 1), unit, 0
        self.bar = st.progress(0.0, text=f"{desc}: 0/{total} {unit}")

    def update(self, n: int = 1) -> None:
        self.done = min(self.total, self.done + n)
        self.bar.progress(self.done / self.total, text=f"{self.desc}: {self.done}/{self.total} {self.unit}")

    def close(self) -> None:
        self.bar.progress(1.0, text=f"{self.desc}: done")


def build_sample(out: Path) -> tuple[Path, dict] | None:
    """Build the bundled sample into `out`; None when another session's build is running.

    Raises LayerScopeError (with its way out) for problems a user can fix."""
    if not _ONE_BUILD.acquire(blocking=False):
        return None
    try:
        log = st.empty()
        with st.status("Building the sample catalog…", expanded=True) as status:
            path, manifest = build_catalog(BuildConfig(out=out), progress=StreamlitProgress,
                                           log=lambda line: log.write(line))
            status.update(label=f"Built {path.name}", state="complete")
        return path, manifest
    finally:
        _ONE_BUILD.release()
