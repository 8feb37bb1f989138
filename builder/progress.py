"""What a stage reports its progress to. The builder prints nothing itself: the command line passes a
terminal bar (scripts/), the app a Streamlit bar (app/), tests and benchmarks `NoProgress`."""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Progress(Protocol):
    def update(self, n: int = 1) -> None: ...

    def close(self) -> None: ...


class NoProgress:
    """Shows nothing."""

    def __init__(self, desc: str = "", total: int = 0, unit: str = "img"):
        pass

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


ProgressFactory = Callable[..., Progress]  # (description, total, unit="img") -> Progress
