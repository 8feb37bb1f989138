"""The one way to run a forward with hooks on a model that several sessions share.

A forward hook is registered on the module, not on a call: while one caller's hooks are on a shared
model, every other caller's forward fires them too, and each would record the other's activations.
So hooks are only ever registered here, under a process-wide lock per model object (kept in a
weakref-keyed dict, so a model can still be freed), and removed in `finally` before the lock is
released. A forward without hooks of its own holds the lock too: another run's hooks would see it.

A run that takes long (an explanation) runs on a twin of the model instead (`core.twins`): the same
weights, its own hooks and its own lock, so that it keeps no other session's forward waiting.
"""
from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

Hook = Callable[[nn.Module, tuple, object], None]

_locks: weakref.WeakKeyDictionary[nn.Module, threading.RLock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def model_lock(model: nn.Module) -> threading.RLock:
    """The lock every hooked run on `model` holds (re-entrant, so a hooked helper may call another)."""
    with _locks_guard:
        lock = _locks.get(model)
        if lock is None:
            lock = _locks[model] = threading.RLock()
        return lock


@contextmanager
def hooked(model: nn.Module, hooks: Iterable[tuple[nn.Module, Hook]]) -> Iterator[None]:
    """Hold the model's lock, register forward hooks on its modules, and remove them however the block
    exits. Run the forward (or forward and backward) inside the block."""
    with model_lock(model):
        handles = []
        try:
            for module, hook in hooks:
                handles.append(module.register_forward_hook(hook))
            yield
        finally:
            for handle in handles:
                handle.remove()


@contextmanager
def intra_op_threads(n: int) -> Iterator[None]:
    """Run the block's torch ops on at most `n` threads of the calling thread.

    One image's forward splits each op into pieces too small to pay for the threads: on a busy machine
    (two cores shared with the browser, other sessions, other programs) every op waits at its barrier
    for a descheduled peer, and one forward of EfficientNet-Lite0 took 0.25-5 s on two threads against
    0.05-0.16 s on one (docs/PERFORMANCE.md, First looks). torch keeps the setting per thread, so other
    threads' forwards keep theirs; a thread that touches torch for the first time meanwhile starts with
    `n`, as torch hands every new thread the last value set."""
    before = torch.get_num_threads()
    if n >= before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def hooked_forward(model: nn.Module, x: torch.Tensor, hooks: Iterable[tuple[nn.Module, Hook]]) -> torch.Tensor:
    """`model(x)` without gradients, with `hooks` on for this call only and no one else's."""
    with hooked(model, hooks), torch.no_grad():
        return model(x)
