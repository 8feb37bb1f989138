"""The builder's helper threads (decoding, encoding) run at the lowest CPU priority, so they never stall
the model's OpenMP threads (builder/threads.py); the model's own thread keeps its priority."""
from __future__ import annotations

import os
import sys
import threading

import pytest

from builder.build import _prefetched
from builder.threads import BACKGROUND_NICE, background_executor


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(sys.platform != "linux", reason="a nice value belongs to one thread only on Linux")
def test_decoding_and_encoding_threads_run_at_the_lowest_priority_and_the_caller_keeps_its_own():
    before = _nice()
    seen = []

    def decoded():
        for i in range(3):
            seen.append(_nice())
            yield i

    assert list(_prefetched(decoded())) == [0, 1, 2]
    with background_executor("test-encode") as encoder:
        encoding = encoder.submit(_nice).result()
    assert seen == [BACKGROUND_NICE] * 3
    assert encoding == BACKGROUND_NICE
    assert _nice() == before  # the model's thread, and every other thread of the process, untouched
