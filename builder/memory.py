"""Hand the heap's freed pages back to the operating system.

glibc keeps memory that Python, numpy and torch free in its heaps (one per thread that allocates),
and a heap's free pages below one still in use stay resident. A build frees about a gigabyte of
activations every batch, from three threads (decoding, the model, encoding), so after the one pass the
resident set stood 0.3-0.5 GB above what was live and the reduction started on top of that: the
7000-image build peaked at 3.1 GB where 1000 images peaked at 2.7 (docs/PERFORMANCE.md). The builder
calls `malloc_trim(0)` between stages and reduction layers, not after every batch: pages handed back
are faulted in again by the next batch (EfficientNet-Lite0's one pass took 30 % longer so). Elsewhere
than glibc it is not available and nothing is done.
"""
from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


def release_freed_memory() -> bool:
    """Return the heaps' free pages to the OS; True where that could be done (glibc)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, Windows, musl without it)
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim
