"""Channel statistics and the bounded reduction input, against values worked out by hand."""
import math

import numpy as np
import pytest
import torch

from core.stats import MAX_FEATURES, channel_stats, pooled_side, reduction_input


def reference_channel_stats(maps: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Channel by channel: mean; entropy of 10 bins over the channel's min..max, bin = int((v - low) *
    (10 / span)) in float32 with the maximum in the last bin; score = entropy x mean magnitude."""
    b, c = maps.shape[:2]
    mean, entropy, score = (np.zeros((b, c), np.float32) for _ in range(3))
    for i in range(b):
        for j in range(c):
            values = maps[i, j].flatten().float()
            low, high = values.min(), values.max()
            scale = 10 / (high - low) if high > low else torch.tensor(10.0)
            bins = ((values - low) * scale).to(torch.int64).clamp(0, 9)
            p = torch.bincount(bins, minlength=10).double() / len(values)
            p = p[p > 0]
            mean[i, j] = values.mean()
            entropy[i, j] = max(0.0, float(-(p * torch.log2(p)).sum()))
            score[i, j] = entropy[i, j] * values.abs().mean()
    return mean, entropy, score


def test_channel_stats_equal_a_per_channel_loop():
    # Signed maps (a conv's) and rectified ones (a ReLU's, where the mean magnitude is the mean), a
    # constant channel, and a channel whose maximum is repeated: the whole-batch count gives the loop's
    # histograms.
    torch.manual_seed(0)
    signed = torch.randn(3, 5, 7, 9)
    signed[0, 1] = 2.5
    signed[1, 2, :3] = signed[1, 2].max()
    for maps in (signed, signed.relu()):
        got = [t.numpy() for t in channel_stats(maps)]
        want = reference_channel_stats(maps)
        for g, w in zip(got, want):  # one value in another bin would move an entropy by ~1e-2
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_channel_stats_of_a_channels_last_map_equal_those_of_the_usual_order():
    # the model's convs return channels-last memory (core.models): read in that order, same statistics
    torch.manual_seed(1)
    signed = torch.randn(2, 6, 5, 7)
    signed[1, 3] = -0.5  # a constant channel
    for maps in (signed, signed.relu()):
        last = maps.to(memory_format=torch.channels_last)
        assert not last.is_contiguous()
        for g, w in zip(channel_stats(last), channel_stats(maps.contiguous())):
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6, atol=1e-7)
        for g, w in zip(channel_stats(last), reference_channel_stats(maps)):
            np.testing.assert_allclose(g.numpy(), w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("chunk_values", [1, 7 * 6, 7 * 6 * 4])
def test_channel_stats_read_in_chunks_equal_a_per_channel_loop(monkeypatch, chunk_values):
    # Real maps are read a few positions at a time (core.stats.CHUNK_VALUES); here chunks of one,
    # five and four positions (35 = 7 x 5, so the last chunk is short), in both memory orders.
    import core.stats
    monkeypatch.setattr(core.stats, "CHUNK_VALUES", chunk_values)
    torch.manual_seed(2)
    signed = torch.randn(2, 3, 5, 7)  # b x c = 6 values a position
    signed[0, 1] = 2.5  # constant
    signed[1, 2, 4] = signed[1, 2].min()  # the minimum repeated in the last chunk
    for maps in (signed, signed.relu()):
        for layout in (maps, maps.to(memory_format=torch.channels_last)):
            for g, w in zip(channel_stats(layout), reference_channel_stats(maps)):
                np.testing.assert_allclose(g.numpy(), w, rtol=1e-5, atol=1e-6)


def test_channel_stats_by_hand():
    # channel 0: values 0,1,2,3 land in bins 0,3,6,9 -> four equal bins -> 2 bits; |mean| = 1.5
    # channel 1: constant -> one bin -> 0 bits; channel 2: -1,-1,1,1 -> two bins -> 1 bit; |x| mean 1
    maps = torch.tensor([[[[0., 1.], [2., 3.]], [[5., 5.], [5., 5.]], [[-1., -1.], [1., 1.]]]])
    mean, entropy, score = channel_stats(maps)
    assert mean.tolist() == [[1.5, 5.0, 0.0]]
    assert entropy.tolist() == [[2.0, 0.0, 1.0]]
    assert score.tolist() == [[3.0, 0.0, 1.0]]  # entropy x mean magnitude, not x mean


def test_entropy_is_bounded_by_log2_of_bins():
    maps = torch.linspace(0, 1, 1000).reshape(1, 1, 10, 100)
    _, entropy, _ = channel_stats(maps)
    assert entropy.item() == pytest.approx(math.log2(10), abs=1e-3)


def test_stats_are_per_sample():
    a = torch.randn(1, 4, 5, 5)
    b = torch.randn(1, 4, 5, 5) * 3
    together = channel_stats(torch.cat([a, b]))
    for i, alone in enumerate((channel_stats(a), channel_stats(b))):
        for stat_together, stat_alone in zip(together, alone):
            assert torch.allclose(stat_together[i], stat_alone[0])


@pytest.mark.parametrize("shape, expected", [
    ((64, 224, 224), 64 * 8 * 8),  # VGG16's first conv
    ((512, 7, 7), 512 * 2 * 2),
    ((1280, 7, 7), 1280 * 2 * 2),  # never the global average: that is the next pooling layer
    ((64, 1, 1), 64),
    ((3, 224, 224), 3 * 36 * 36),
    ((4096,), 4096),
    ((25088,), MAX_FEATURES),
    ((8, 2, 2), 8 * 2 * 2),  # never pools beyond the map itself
])
def test_reduction_input_is_bounded(shape, expected):
    assert reduction_input(torch.randn(2, *shape)).shape == (2, expected)


def test_reduction_input_is_a_spatial_average():
    maps = torch.arange(16.).reshape(1, 1, 4, 4)
    assert pooled_side(1, 4, 4, max_features=4) == 2
    pooled = reduction_input(maps, max_features=4)
    assert pooled.tolist() == [[2.5, 4.5, 10.5, 12.5]]
