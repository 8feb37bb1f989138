"""The exact kNN graph under t-SNE: true neighbours, nearest first, never the sample itself."""
import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from core.neighbors import exact_neighbors


def test_points_on_a_line_get_their_hand_computed_neighbours():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    indices, distances = exact_neighbors(x, 2)
    assert indices.tolist() == [[1, 2], [0, 2], [1, 0], [2, 1]]
    assert distances.tolist() == [[1, 3], [1, 2], [2, 3], [4, 6]]


def test_an_equal_sample_is_a_neighbour_at_distance_zero_but_a_sample_is_never_its_own():
    x = np.array([[5.0, 5.0], [5.0, 5.0], [0.0, 0.0]])
    indices, distances = exact_neighbors(x, 1)
    assert indices[:, 0].tolist() == [1, 0, 0]
    assert distances[:2, 0].tolist() == [0.0, 0.0]


def test_blocks_of_any_size_agree_with_scikit_learns_exact_search():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 12)).astype(np.float32)
    expected_d, expected_i = NearestNeighbors(n_neighbors=31).fit(x).kneighbors(x)
    for block_bytes in (1, 8 * 300 * 7, 1 << 30):  # one row, 7 rows, everything at once
        indices, distances = exact_neighbors(x, 30, block_bytes=block_bytes)
        assert (indices == expected_i[:, 1:]).mean() > 0.999  # ties in float32 may swap
        np.testing.assert_allclose(distances, expected_d[:, 1:], rtol=1e-5, atol=1e-5)


def test_asking_for_as_many_neighbours_as_samples_is_a_clear_error():
    with pytest.raises(ValueError, match="between 1 and 2"):
        exact_neighbors(np.zeros((3, 2)), 3)
