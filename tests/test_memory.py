"""The builder keeps freed memory for the next batch while batches run, and hands freed heap pages
back to the OS between stages (builder/memory.py)."""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from builder.memory import freed_memory_kept, release_freed_memory

BLOCK = 64 * 1024  # under glibc's mmap threshold: these come from the heap, not their own mappings
BLOCKS = 2000  # 128 MB in all
ROOT = Path(__file__).resolve().parents[1]
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


def measure_in_a_fresh_process() -> None:
    """Run in a new interpreter (the heap of this one holds whatever earlier tests freed): the faults of
    a second big block before, inside and after `freed_memory_kept`, and the resident set after nested
    blocks, printed as JSON."""
    libc = _libc()
    default = faults_of_a_second_big_block(libc)
    with freed_memory_kept() as kept:
        inside = faults_of_a_second_big_block(libc)
    after = faults_of_a_second_big_block(libc)
    held = rss_mb()
    with freed_memory_kept(), freed_memory_kept():  # nested, as two builds at once in the app
        block = libc.malloc(BIG)
        ctypes.memset(block, 1, BIG)
        libc.free(block)
    print(json.dumps({"kept": kept, "default": default, "inside": inside, "after": after,
                      "grown_mb": rss_mb() - held}))


def test_a_big_block_freed_inside_the_block_is_reused_without_faulting_its_pages_in_again():
    if not Path("/proc/self/status").exists() or not release_freed_memory():
        pytest.skip("needs Linux with glibc")
    child = subprocess.run([sys.executable, "-c", "import tests.test_memory as t; t.measure_in_a_fresh_process()"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    seen = json.loads(child.stdout.splitlines()[-1])
    pages = BIG // resource.getpagesize()
    assert seen["kept"]
    assert seen["default"] > pages / 2, "by default a big block is a fresh mapping, faulted in page by page"
    assert seen["inside"] < pages / 20, f"{seen['inside']} faults: the freed block was not reused"
    assert seen["after"] > pages / 2, "glibc's defaults were not restored"
    assert seen["grown_mb"] < BIG / 2**20 / 2, "the kept block was not handed back on leaving"


def measure_an_actor_in_a_fresh_process() -> None:
    """In a new interpreter: the faults of a second big block once a Ray engine actor (builder/ray_engine.py)
    is made, outside Ray, on two bundled images; printed as JSON."""
    from builder import BuildConfig
    from builder.ray_engine import ImagePass
    from core.datasets import resolve_dataset
    config = BuildConfig(dataset="sample", samples=2)
    actor = ImagePass(config, resolve_dataset(config.dataset, n=config.samples, seed=config.seed))
    print(json.dumps({"actor_made": actor is not None, "faults": faults_of_a_second_big_block(_libc())}))


def test_a_ray_actor_keeps_freed_memory_for_its_batches_as_the_local_one_pass_does():
    if not Path("/proc/self/status").exists() or not release_freed_memory():
        pytest.skip("needs Linux with glibc")
    child = subprocess.run([sys.executable, "-c", "import tests.test_memory as t; t.measure_an_actor_in_a_fresh_process()"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    seen = json.loads(child.stdout.splitlines()[-1])
    assert seen["actor_made"]
    assert seen["faults"] < BIG // resource.getpagesize() / 20, f"{seen['faults']} faults: the actor's heap gave its memory back"
