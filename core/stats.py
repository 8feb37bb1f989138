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
CHUNK_VALUES = 1 << 20  # 4 MB of float32: a chunk stays in the cache (2 MB L2 a core, 32 MB L3 here)


def channel_stats(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, C, H, W) -> mean, entropy (bits), score; each (B, C), float32.

    The map is read in chunks of about CHUNK_VALUES values (all samples and channels, a run of
    positions), twice: once for each channel's sum, min and max, once for the histograms. A chunk
    stays in the cache between the several passes each read needs, where the whole map (VGG16's
    first conv at batch 9: 115 MB) would be fetched from memory for every one of them.

    One bincount over (sample, channel, bin) ids counts every histogram of a chunk at once, in int32,
    so no per-channel loop and no float one-hot; the bins are computed in place in per-thread chunk
    buffers (`_scratch`). min and max are two reductions (one `aminmax` costs several times both);
    the mean magnitude is the mean where no value is negative (after a ReLU); and the maximum, which
    lands in bin BINS, is moved to the last bin after counting instead of clamping every value. A
    channels-last map (what the model's convs return, core.models) is read in its own order,
    (B, H*W, C), never copied.
    """
    values, dim = _per_channel(maps.detach())
    b, c = maps.shape[:2]
    n = values.shape[dim]
    rows = max(1, CHUNK_VALUES // (b * c))
    chunks = [values.narrow(dim, start, min(rows, n - start)) for start in range(0, n, rows)]
    total, low, high = _sum_min_max(chunks, dim)
    mean = (total / n).float()
    span = high - low
    scale = BINS / torch.where(span > 0, span, torch.ones_like(span))
    offsets = (torch.arange(b * c, dtype=torch.int32, device=values.device) * (BINS + 1)).view(low.shape)
    signed = bool((low < 0).any())
    counts = torch.zeros(b * c * (BINS + 1), dtype=torch.int64, device=values.device)
    absolute = torch.zeros(b, c, dtype=torch.float64, device=values.device) if signed else None
    for chunk in chunks:
        scaled, bins = _scratch(chunk.shape, values.device)
        if signed:  # |v| in the scratch buffer: a third of vector_norm's time channels-last
            absolute += torch.abs(chunk, out=scaled).sum(dim=dim)
        torch.sub(chunk, low, out=scaled).mul_(scale)  # >= 0, and at most BINS (the maximum)
        bins.copy_(scaled)  # truncates toward zero, as .to(torch.int32) does
        bins += offsets
        counts += torch.bincount(bins.view(-1), minlength=counts.numel())
    counts = counts.view(b, c, BINS + 1)
    counts[..., BINS - 1] += counts[..., BINS]
    p = counts[..., :BINS].float() / n
    entropy = -(p * torch.log2(torch.where(p > 0, p, torch.ones_like(p)))).sum(dim=2)
    entropy = entropy.clamp_min(0.0)  # no -0.0 for constant channels
    magnitude = (absolute / n).float() if signed else mean  # |v| = v: the mean
    return mean, entropy, entropy * magnitude


def _sum_min_max(chunks: list[torch.Tensor], dim: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each channel's sum (float64, over the chunks' float32 sums), min and max (kept along `dim`)."""
    sums, lows, highs = zip(*((chunk.sum(dim=dim), chunk.amin(dim=dim, keepdim=True),
                               chunk.amax(dim=dim, keepdim=True)) for chunk in chunks))
    return torch.stack(sums).double().sum(dim=0), torch.stack(lows).amin(dim=0), torch.stack(highs).amax(dim=0)


def _per_channel(maps: torch.Tensor) -> tuple[torch.Tensor, int]:
    """A float32 view of the maps with each channel's values along one dimension, and that dimension:
    (B, C, H*W), 2 for the usual order; (B, H*W, C), 1 for a channels-last map."""
    maps = maps.float()
    if maps.dim() == 4 and not maps.is_contiguous() and maps.is_contiguous(memory_format=torch.channels_last):
        return maps.permute(0, 2, 3, 1).flatten(1, 2), 1
    return maps.flatten(2), 2


_buffers = threading.local()  # per thread: app sessions may compute statistics side by side


def _scratch(shape: torch.Size, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A float32 and an int32 buffer of `shape` (one chunk), views of per-thread storage that only
    grows (a few MB: a fresh tensor per chunk would cost more than the arithmetic done in it)."""
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
