"""The activation disk cache stays under its bound, keeps each catalog build apart, and never shows a
half-written file."""
from __future__ import annotations

import threading
import time

import numpy as np

from catalog.activation_cache import ActivationCache

MAP = (8, 16, 16)  # one float16 map: 4 kB of data


def _map(value: float) -> np.ndarray:
    return np.full(MAP, value, dtype=np.float32)


def _entry_bytes(tmp_path) -> int:
    probe = ActivationCache(tmp_path / "probe", "c", "b", 10 ** 9)
    probe.put(0, 0, _map(0))
    return probe.file(0, 0).stat().st_size


def _stored_bytes(root) -> int:
    return sum(f.stat().st_size for f in root.rglob("*.npy"))


def test_eviction_keeps_the_total_under_the_bound_and_drops_the_least_recently_used(tmp_path):
    size = _entry_bytes(tmp_path)
    cache = ActivationCache.for_catalog(tmp_path / "cat", {"created_at": "2026-01-01T00:00:00+00:00"},
                                        root=tmp_path / "cache", limit_bytes=4 * size)
    for sample_id in range(4):
        cache.put(sample_id, 1, _map(sample_id))
        time.sleep(0.01)
    assert cache.get(0, 1) is not None  # read: 0 is now the most recently used
    time.sleep(0.01)
    for sample_id in range(4, 7):
        cache.put(sample_id, 1, _map(sample_id))
        assert _stored_bytes(tmp_path / "cache") <= 4 * size
        time.sleep(0.01)
    kept = [sample_id for sample_id in range(7) if cache.get(sample_id, 1) is not None]
    assert kept == [0, 4, 5, 6]
    assert np.array_equal(cache.get(0, 1), _map(0))


def test_the_bound_covers_every_catalog_under_the_root(tmp_path):
    size = _entry_bytes(tmp_path)
    first = ActivationCache.for_catalog(tmp_path / "a", {"created_at": "1"}, root=tmp_path / "cache",
                                        limit_bytes=3 * size)
    second = ActivationCache.for_catalog(tmp_path / "b", {"created_at": "1"}, root=tmp_path / "cache",
                                         limit_bytes=3 * size)
    for sample_id in range(3):
        first.put(sample_id, 0, _map(sample_id))
        time.sleep(0.01)
    second.put_many(0, {0: _map(10), 1: _map(11)})
    assert _stored_bytes(tmp_path / "cache") <= 3 * size
    assert first.get(0, 0) is None and first.get(2, 0) is not None and second.get(0, 1) is not None


def test_two_builds_of_one_catalog_name_never_mix(tmp_path):
    old = ActivationCache.for_catalog(tmp_path / "catalogs" / "lite0", {"created_at": "2026-01-01T10:00:00+00:00"},
                                      root=tmp_path / "cache", limit_bytes=10 ** 8)
    old.put(3, 2, _map(1.0))
    assert np.array_equal(old.get(3, 2), _map(1.0))
    rebuilt = ActivationCache.for_catalog(tmp_path / "elsewhere" / "lite0",
                                          {"created_at": "2026-01-02T10:00:00+00:00"},
                                          root=tmp_path / "cache", limit_bytes=10 ** 8)
    assert rebuilt.folder != old.folder
    assert rebuilt.get(3, 2) is None  # the other build's map is not this build's
    assert not old.folder.exists()  # and the old build's folder went when the new build was seen
    rebuilt.put(3, 2, _map(2.0))
    assert np.array_equal(rebuilt.get(3, 2), _map(2.0))


def test_concurrent_writers_of_one_entry_never_leave_a_corrupt_file(tmp_path):
    cache = ActivationCache(tmp_path / "cache", "cat", "build", 10 ** 8)
    writers, rounds = 6, 20
    start = threading.Barrier(writers + 1)
    seen: list[np.ndarray | None] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def write(value: int) -> None:
        start.wait()
        try:
            for _ in range(rounds):
                cache.put(7, 3, _map(value))
        except BaseException as error:  # a writer that crashes would crash a visitor's page
            errors.append(error)

    def read() -> None:
        start.wait()
        while not done.is_set():
            seen.append(cache.get(7, 3))

    threads = [threading.Thread(target=write, args=(value,)) for value in range(writers)]
    reader = threading.Thread(target=read)
    for thread in [*threads, reader]:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    assert not errors, errors[:3]
    final = cache.get(7, 3)
    assert final is not None and final.shape == MAP and len(np.unique(final)) == 1
    read_back = [array for array in seen if array is not None]
    assert read_back and all(a.shape == MAP and len(np.unique(a)) == 1 for a in read_back)
    assert sorted(p.name for p in cache.folder.iterdir()) == [cache.file(7, 3).name]  # no temp file left
