"""The builder keeps freed memory for the next batch while batches run, and hands freed heap pages
back to the OS between stages (builder/memory.py)."""
from __future__ import annotations

import ctypes
import ctypes.util
import resource
from pathlib import Path

import pytest

from builder.memory import freed_memory_kept, release_freed_memory

BLOCK = 64 * 1024  # under glibc's mmap threshold: these come from the heap, not their own mappings
BLOCKS = 2000  # 128 MB in all
BIG = 64 * 2**20  # over glibc's largest mmap threshold (32 MB), as VGG16's first maps are (115 MB)


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


def _libc():
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    return libc


def faults_of_a_second_big_block(libc) -> int:
    """Allocate, fill and free a big block twice, as two batches do; the page faults of the second."""
    faults = 0
    for _ in range(2):
        block = libc.malloc(BIG)
        assert block
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        ctypes.memset(block, 1, BIG)
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        libc.free(block)
    return faults


def test_a_big_block_freed_inside_the_block_is_reused_without_faulting_its_pages_in_again():
    if not Path("/proc/self/status").exists() or not release_freed_memory():
        pytest.skip("needs Linux with glibc")
    libc = _libc()
    pages = BIG // resource.getpagesize()
    default = faults_of_a_second_big_block(libc)
    with freed_memory_kept() as kept:
        assert kept
        inside = faults_of_a_second_big_block(libc)
    after = faults_of_a_second_big_block(libc)
    assert default > pages / 2, "by default a big block is a fresh mapping, faulted in page by page"
    assert inside < pages / 20, f"{inside} faults: the freed block was not reused"
    assert after > pages / 2, "glibc's defaults were not restored"
    held = rss_mb()
    with freed_memory_kept(), freed_memory_kept():  # nested, as two builds at once in the app
        block = libc.malloc(BIG)
        ctypes.memset(block, 1, BIG)
        libc.free(block)
    assert rss_mb() < held + BIG / 2**20 / 2, "the kept block was not handed back on leaving"
