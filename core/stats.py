"""What the builder keeps of one layer's activations: channel statistics and a bounded feature vector.

Channel statistics follow the original dashboard: for each sample and channel, the mean, the entropy
of a 10-bin histogram of the channel's values (bins spanning that channel's own min..max, in bits),
and score = entropy x mean magnitude, which ranks channels that are both active and structured.

The reduction input bounds every layer to at most max(MAX_FEATURES, 4 C) numbers per sample, so
memory and the cost of PCA stay flat whatever the layer: a (C, H, W) map is average-pooled to
(C, s, s) with the largest s such that C*s*s <= MAX_FEATURES, but never below 2x2 (VGG16's first conv:
64x8x8; its last: 512x2x2; EfficientNet's 1280-channel head: 1280x2x2). Keeping 2x2 means a map
never collapses to its global average, which is the next pooling layer's output: the two layers
would get the same map. A longer vector is averaged over equal runs of neighbours.
"""
from __future__ import annotations

import math
import threading

import torch
import torch.nn.functional as F

BINS = 10
MAX_FEATURES = 4096


def channel_stats(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, C, H, W) -> mean, entropy (bits), score; each (B, C), float32.

    One bincount over (sample, channel, bin) ids counts every histogram at once, in int32, so the
    largest maps (VGG16's 64x224x224) need no per-channel loop and no float one-hot. On the CPU a
    fresh map-sized tensor costs several times the arithmetic done in it (its pages are faulted in
    anew), so the bins are computed in place in buffers kept between calls (`_scratch`); min and max
    are two reductions (one `aminmax` costs several times both); the mean magnitude is the mean
    where no value is negative (after a ReLU); and the maximum, which lands in bin BINS, is moved to
    the last bin after counting instead of clamping every value. A channels-last map (what the
    model's convs return, core.models) is read in its own order, (B, H*W, C), never copied.
    """
    values, dim = _per_channel(maps.detach())
    b, c = maps.shape[:2]
    n = values.shape[dim]
    mean = values.mean(dim=dim)
    low, high = values.amin(dim=dim, keepdim=True), values.amax(dim=dim, keepdim=True)
    scaled, bins = _scratch(values.shape, values.device)
    if bool((low < 0).any()):  # |v| in the scratch buffer: a third of vector_norm's time channels-last
        magnitude = torch.abs(values, out=scaled).sum(dim=dim) / n
    else:  # |v| = v: the same sum as the mean's
        magnitude = mean
    span = high - low
    scale = BINS / torch.where(span > 0, span, torch.ones_like(span))
    torch.sub(values, low, out=scaled).mul_(scale)  # >= 0, and at most BINS (the maximum)
    bins.copy_(scaled)  # truncates toward zero, as .to(torch.int32) does
    bins += (torch.arange(b * c, dtype=torch.int32, device=values.device) * (BINS + 1)).view(low.shape)
    counts = torch.bincount(bins.view(-1), minlength=b * c * (BINS + 1)).view(b, c, BINS + 1)
    counts[..., BINS - 1] += counts[..., BINS]
    p = counts[..., :BINS].float() / n
    entropy = -(p * torch.log2(torch.where(p > 0, p, torch.ones_like(p)))).sum(dim=2)
    entropy = entropy.clamp_min(0.0)  # no -0.0 for constant channels
    return mean, entropy, entropy * magnitude


def _per_channel(maps: torch.Tensor) -> tuple[torch.Tensor, int]:
    """A float32 view of the maps with each channel's values along one dimension, and that dimension:
    (B, C, H*W), 2 for the usual order; (B, H*W, C), 1 for a channels-last map."""
    maps = maps.float()
    if maps.dim() == 4 and not maps.is_contiguous() and maps.is_contiguous(memory_format=torch.channels_last):
        return maps.permute(0, 2, 3, 1).flatten(1, 2), 1
    return maps.flatten(2), 2


_buffers = threading.local()  # per thread: app sessions may compute statistics side by side


def _scratch(shape: torch.Size, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A float32 and an int32 buffer of `shape`, views of per-thread storage that only grows (the
    builder's largest map: VGG16's first conv at batch 16, 2 x 200 MB, less than the temporaries
    it replaces)."""
    size = math.prod(shape)
    held = getattr(_buffers, "held", {})
    floats, ints = held.get(device, (None, None))
    if floats is None or floats.numel() < size:
        floats = torch.empty(size, device=device)
        ints = torch.empty(size, dtype=torch.int32, device=device)
        held[device] = (floats, ints)
        _buffers.held = held
    return floats[:size].view(shape), ints[:size].view(shape)


def pooled_side(channels: int, height: int, width: int, max_features: int = MAX_FEATURES) -> int:
    side = max(2, math.isqrt(max_features // max(channels, 1)))
    return min(side, height, width)


def reduction_input(activations: torch.Tensor, max_features: int = MAX_FEATURES) -> torch.Tensor:
    """(B, ...) -> (B, D) with D <= max(max_features, 4 C), float32."""
    x = activations.detach().float()
    if x.dim() == 4:
        side = pooled_side(*x.shape[1:], max_features=max_features)
        return F.adaptive_avg_pool2d(x, side).flatten(1)
    x = x.flatten(1)
    if x.shape[1] > max_features:
        x = F.adaptive_avg_pool1d(x.unsqueeze(1), max_features).squeeze(1)
    return x
