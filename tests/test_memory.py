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

from builder.memory import GrowthLimit, freed_memory_kept, release_freed_memory

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


def in_a_fresh_process(measure: str) -> dict:
    """Run this module's function `measure` in a new interpreter; the JSON it printed last."""
    child = subprocess.run([sys.executable, "-c", f"import tests.test_memory as t; t.{measure}()"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(child.stdout.splitlines()[-1])


@pytest.mark.slow
def test_a_big_block_freed_inside_the_block_is_reused_without_faulting_its_pages_in_again():
    if not Path("/proc/self/status").exists() or not release_freed_memory():
        pytest.skip("needs Linux with glibc")
    seen = in_a_fresh_process("measure_in_a_fresh_process")
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


@pytest.mark.slow
def test_a_ray_actor_keeps_freed_memory_for_its_batches_as_the_local_one_pass_does():
    if not Path("/proc/self/status").exists() or not release_freed_memory():
        pytest.skip("needs Linux with glibc")
    seen = in_a_fresh_process("measure_an_actor_in_a_fresh_process")
    assert seen["actor_made"]
    assert seen["faults"] < BIG // resource.getpagesize() / 20, f"{seen['faults']} faults: the actor's heap gave its memory back"


class FakeHeap:
    """Resident sizes (MB) read one after another, and the trims asked for."""

    def __init__(self, readings: list[int], trimmed_to: dict[int, int] | None = None):
        self.readings, self.trimmed_to, self.trims, self.last = list(readings), trimmed_to or {}, 0, None

    def resident(self) -> int:
        self.last = self.readings.pop(0) if self.readings else self.last
        return self.last * 2**20

    def release(self) -> bool:
        self.trims += 1
        self.readings.insert(0, self.trimmed_to.get(self.last, self.last))
        return True


def test_the_growth_limit_trims_once_the_resident_set_creeps_past_its_allowance_over_the_settled_level():
    # settles at the highest of the first three batches (2800), then trims above 2800 + 64
    heap = FakeHeap([2700, 2800, 2790, 2850, 2864, 2865, 2850], trimmed_to={2865: 2500})
    limit = GrowthLimit(allowance=64 * 2**20, settle=3, resident=heap.resident, release=heap.release)
    assert [limit.check() for _ in range(7)] == [False, False, False, False, False, True, False]
    assert heap.trims == limit.trims == 1
    assert limit.level == 2800 * 2**20  # trimming took the rise back: free pages, the level stays


def test_a_rise_that_trimming_does_not_take_back_becomes_the_level_and_costs_one_trim():
    heap = FakeHeap([2800, 3000, 3000, 3000, 3000], trimmed_to={3000: 2990})  # memory in use, not free pages
    limit = GrowthLimit(allowance=64 * 2**20, settle=1, resident=heap.resident, release=heap.release)
    assert [limit.check() for _ in range(5)] == [False, True, False, False, False]
    assert heap.trims == 1
    assert limit.level == 2990 * 2**20


def measure_a_growth_limit_in_a_fresh_process() -> None:
    """In a new interpreter, with freed memory kept: a big block freed below a small one that stays (so the
    heap cannot shrink from its top) keeps its pages resident; the growth limit's check hands them back.
    Prints the resident MB before and after the check, and whether it trimmed, as JSON."""
    libc = _libc()
    with freed_memory_kept():
        limit = GrowthLimit(allowance=BIG // 4, settle=1)
        limit.check()
        big = libc.malloc(BIG)
        ctypes.memset(big, 1, BIG)
        pin = libc.malloc(BLOCK)
        ctypes.memset(pin, 1, BLOCK)
        libc.free(big)
        before = rss_mb()
        trimmed = limit.check()
        print(json.dumps({"before": before, "after": rss_mb(), "trimmed": trimmed}))
        libc.free(pin)


@pytest.mark.slow
def test_the_growth_limit_hands_back_free_pages_the_kept_heap_holds():
    if not Path("/proc/self/status").exists() or not release_freed_memory():
        pytest.skip("needs Linux with glibc")
    seen = in_a_fresh_process("measure_a_growth_limit_in_a_fresh_process")
    assert seen["trimmed"]
    assert seen["before"] - seen["after"] > BIG / 2**20 / 2, f"{seen}: the freed block's pages stayed resident"
