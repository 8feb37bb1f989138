"""Keep freed memory for the next batch while batches run; hand it back to the OS between stages.

glibc keeps memory that Python, numpy and torch free in its heaps (one per thread that allocates),
and a heap's free pages below one still in use stay resident. A build frees about a gigabyte of
activations every batch, from three threads (decoding, the model, encoding), so after the one pass the
resident set stands 0.3-0.5 GB above what is live (a 90-image VGG16 build: 1944 MB, 1682 after
`malloc_trim(0)`), and the reduction would start on top of that. The builder calls `malloc_trim(0)`
between stages and reduction layers, not after every batch: pages handed back are faulted in again by
the next batch (30 % more one-pass time for EfficientNet-Lite0). Elsewhere than glibc it is not
available and nothing is done.

While batches run, `freed_memory_kept` does the opposite. glibc gives every block over its mmap
threshold (at most 32 MB; VGG16's first maps at batch 9 are 115 MB) a mapping of its own and unmaps it
when freed, so each batch would fault its activations and gradients in afresh, page by page, zeroed by
the kernel: 313,000-346,000 minor faults (1.3 GB) a VGG16 batch of 9, about an eighth of its time
(docs/PERFORMANCE.md, "Settled measurements"). With mappings off and trimming off, freed blocks stay in
the heap and the next batch reuses them. Reused, but not always in place: a block that no longer fits
the hole it left goes above it, and the resident set creeps up batch after batch (VGG16 at batch 9:
2850 -> 2923 MB over the first 2100 of 7000 images). `GrowthLimit` hands the free pages back when it has crept too far.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from threading import Lock

# mallopt's parameters (malloc.h) and glibc's defaults for them
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
DEFAULT_TRIM_THRESHOLD, DEFAULT_MMAP_MAX = 128 * 1024, 65536
NEVER_TRIM = 2**31 - 1  # mallopt takes an int

_kept = {"blocks": 0}  # blocks open now (the app may run two builds at once): the last one restores
_kept_lock = Lock()


def release_freed_memory() -> bool:
    """Return the heaps' free pages to the OS; True where that could be done (glibc)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@contextmanager
def freed_memory_kept() -> Iterator[bool]:
    """Within the block, memory freed stays in the heap for the next allocation, however large (True
    where that could be arranged: glibc). On leaving, glibc's defaults come back and the free pages
    go back to the OS. The setting is the process's: other threads' allocations are kept too."""
    mallopt = _libc_function("mallopt", (ctypes.c_int, ctypes.c_int))
    if mallopt is None:
        yield False
        return
    with _kept_lock:
        _kept["blocks"] += 1
        mallopt(M_MMAP_MAX, 0)
        mallopt(M_TRIM_THRESHOLD, NEVER_TRIM)
    try:
        yield True
    finally:
        with _kept_lock:
            _kept["blocks"] -= 1
            if not _kept["blocks"]:
                mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
                mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
                release_freed_memory()


def _malloc_trim():
    return _libc_function("malloc_trim", (ctypes.c_size_t,))


@cache
def _libc_function(name: str, argtypes: tuple):
    try:
        function = getattr(ctypes.CDLL(ctypes.util.find_library("c")), name)
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, Windows, musl without it)
        return None
    function.argtypes, function.restype = list(argtypes), ctypes.c_int
    return function


def resident_bytes() -> int | None:
    """This process's resident set, from /proc (Linux); None elsewhere."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class GrowthLimit:
    """Call `check()` after each batch while freed memory is kept: once the resident set stands more than
    `allowance` bytes above where it settled after the first `settle` batches, the free pages go back to
    the OS (`malloc_trim`), and the next batch faults in again only what it uses. A rise that trimming
    does not take back is memory in use: it becomes the new level, so it costs one trim, not one a batch.
    Returns True when it trimmed."""

    def __init__(self, allowance: int = 64 * 2**20, settle: int = 3, resident=resident_bytes,
                 release=release_freed_memory):
        self.allowance, self.settle, self._resident, self._release = allowance, settle, resident, release
        self.level: int | None = None
        self.batches = self.trims = 0

    def check(self) -> bool:
        now = self._resident()
        if now is None:
            return False
        self.batches += 1
        if self.batches <= self.settle or self.level is None:
            self.level = max(self.level or 0, now)
            return False
        if now <= self.level + self.allowance or not self._release():
            return False
        self.trims += 1
        after = self._resident()
        if after is not None and after > self.level + self.allowance // 2:
            self.level = after  # still high after trimming: in use, not free pages
        return True
