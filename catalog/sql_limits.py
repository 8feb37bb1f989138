"""The limits on user SQL (time, rows, result bytes, memory, threads), from defaults or the environment.

User queries come from anonymous visitors of a public app, so every resource they can consume is
bounded, and an operator can tune each bound without editing code.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from core.errors import LayerScopeError

ENV = {
    "time_limit_s": "LAYERSCOPE_SQL_TIME_LIMIT_S",
    "max_rows": "LAYERSCOPE_SQL_MAX_ROWS",
    "max_bytes": "LAYERSCOPE_SQL_MAX_BYTES",
    "memory_mb": "LAYERSCOPE_SQL_MEMORY_MB",
    "threads": "LAYERSCOPE_SQL_THREADS",
}


@dataclass(frozen=True)
class SqlLimits:
    time_limit_s: float = 20.0        # wall clock, start-up of the worker process not counted
    max_rows: int = 10_000            # rows returned
    max_bytes: int = 16_000_000       # Arrow bytes returned
    memory_mb: int = 192              # DuckDB memory_limit; the worker's address space gets headroom above it
    threads: int = 1                  # DuckDB threads

    def __post_init__(self):
        for name in ENV:
            if not getattr(self, name) > 0:
                raise LayerScopeError(f"the SQL limit {name} must be positive, not {getattr(self, name)!r}")

    @classmethod
    def from_env(cls, **overrides) -> "SqlLimits":
        """Defaults, replaced by the LAYERSCOPE_SQL_* variables that are set, then by non-None overrides."""
        values = {}
        for name, var in ENV.items():
            text = os.environ.get(var, "").strip()
            if text:
                kind = float if name == "time_limit_s" else int
                try:
                    values[name] = kind(text)
                except ValueError:
                    raise LayerScopeError(f"{var} must be a number, not {text!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def describe(self) -> str:
        return (f"{self.time_limit_s:g} s, {self.max_rows:,} rows, {self.max_bytes / 1e6:g} MB of results, "
                f"{self.memory_mb:,} MB of memory and {self.threads} thread{'s' if self.threads > 1 else ''}")
