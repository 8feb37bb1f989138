"""The builder hands freed heap pages back to the OS between batches (builder/memory.py)."""
from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

import pytest

from builder.memory import release_freed_memory

BLOCK = 64 * 1024  # under glibc's mmap threshold: these come from the heap, not their own mappings
BLOCKS = 2000  # 128 MB in all


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_freed_heap_pages_leave_the_resident_set():
    if not Path("/proc/self/status").exists() or not release_freed_memory():
        pytest.skip("needs Linux with glibc")
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(BLOCK) for _ in range(BLOCKS)]
    for block in blocks:
        ctypes.memset(block, 1, BLOCK)  # touched: resident
    for block in blocks[:-1]:
        libc.free(block)  # the last one stays, so the heap's top cannot simply shrink
    kept = rss_mb()
    assert release_freed_memory()
    released = kept - rss_mb()
    libc.free(blocks[-1])
    assert released > 0.5 * BLOCK * BLOCKS / 2**20, f"only {released:.0f} MB of 128 freed left the resident set"
