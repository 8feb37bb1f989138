"""Helper threads that never hold up the model's own.

A torch operation splits its work between OpenMP threads, one per core, and ends when the slowest
is done. A helper thread (decoding the next batch, encoding the last one's pictures) that takes a
core's turn therefore stalls the whole operation, and the many short operations of the statistics
suffer most: on 2 cores, one busy helper made VGG16's channel statistics 2.5 times slower. At the
lowest priority (nice 19) a helper runs in the moments the model leaves a core idle (its
single-threaded steps, Python between operations, and whenever it waits for the helper's result),
and the model's threads get the core back the moment they want it.
"""
from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

BACKGROUND_NICE = 19


def lower_this_thread() -> bool:
    """Give the calling thread the lowest CPU priority; True where that was done (Linux, where a
    nice value belongs to one thread; elsewhere it would apply to the whole process)."""
    if sys.platform != "linux":
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except OSError:
        return False
    return True


def background_executor(name: str) -> ThreadPoolExecutor:
    """One helper thread, at the lowest priority, for work handed over with `submit`."""
    return ThreadPoolExecutor(1, thread_name_prefix=name, initializer=lower_this_thread)
