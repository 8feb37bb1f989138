"""Twins of a shared model for long runs: the same weights, but hooks and a lock of their own.

A hooked run on the shared model holds its lock for the whole run (`core.forward`), so every other
session's forward waits for it. That suits the gallery's, the Channel tab's and an upload's single
forwards, but an explanation (Score-CAM's masked forwards, faithfulness's dozens) would keep everyone
waiting for up to a minute. So a long run borrows a twin: a structural copy of the model whose
parameters alias the shared model's storage, frozen (no weight gradients are ever computed for it),
and whose buffers are the shared ones (the twin is in eval mode, which only reads them). A twin costs
its module objects, not its weights. Hooks put on a twin fire only for the twin's forwards, and a
borrowed twin is used by one run at a time, so two explanations never wait for each other either.
A given-back twin is kept for the next run (`KEEP` per model).
"""
from __future__ import annotations

import copy
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from torch import nn

from core.forward import model_lock

KEEP = 4  # given-back twins kept per model (one per explanation running at once)

HOOK_DICTS = ("_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
              "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_backward_hooks",
              "_backward_pre_hooks")


def storage_key(model: nn.Module) -> list[tuple]:
    """What a twin aliases; if any of it changed (`.to()`, assigned parameters), a new twin is needed."""
    tensors = [*model.named_parameters(), *model.named_buffers()]
    return [(name, t.data_ptr(), t.dtype, tuple(t.shape)) for name, t in tensors]


def aliased_copy(model: nn.Module) -> nn.Module:
    """A copy of `model` in eval mode whose parameters are frozen aliases of the model's and whose
    buffers are the model's own; everything else (modules, hook tables) is copied, the hooks cleared.

    Copied under the model's lock, so no one's hooks are being put on or taken off meanwhile."""
    memo: dict = {id(p): nn.Parameter(p.detach(), requires_grad=False) for p in model.parameters()}
    memo.update({id(b): b for b in model.buffers()})
    with model_lock(model):
        twin = copy.deepcopy(model, memo).eval()
    for module in twin.modules():
        for attr in HOOK_DICTS:  # hooks on the shared model must not fire here
            if hasattr(module, attr):
                setattr(module, attr, OrderedDict())
    return twin


def counterpart(model: nn.Module, twin: nn.Module, module: nn.Module) -> nn.Module:
    """The twin's module standing where `module` stands in `model`."""
    for name, candidate in model.named_modules():
        if candidate is module:
            return twin.get_submodule(name)
    raise ValueError(f"{type(module).__name__} is not a module of the model")


@dataclass
class _Kept:
    key: list[tuple]
    free: list[nn.Module] = field(default_factory=list)


_kept: weakref.WeakKeyDictionary[nn.Module, _Kept] = weakref.WeakKeyDictionary()
_kept_lock = threading.Lock()


@contextmanager
def borrowed(model: nn.Module) -> Iterator[nn.Module]:
    """A twin of `model` for this block alone: a kept one, or a new one (`aliased_copy`)."""
    key = storage_key(model)
    with _kept_lock:
        kept = _kept.get(model)
        twin = kept.free.pop() if kept is not None and kept.key == key and kept.free else None
    if twin is None:
        twin = aliased_copy(model)
    try:
        yield twin
    finally:
        _give_back(model, twin, key)


def _give_back(model: nn.Module, twin: nn.Module, key: list[tuple]) -> None:
    if any(getattr(module, attr, None) for module in twin.modules() for attr in HOOK_DICTS):
        return  # a hook left on by a run that failed badly: drop this twin
    with _kept_lock:
        kept = _kept.get(model)
        if kept is None or kept.key != key:
            if key != storage_key(model):
                return  # the model's tensors moved while it was out: the twin aliases stale storage
            kept = _kept[model] = _Kept(key)
        if len(kept.free) < KEEP:
            kept.free.append(twin)
