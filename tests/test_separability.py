"""Leave-one-out k-NN accuracy and the distance behind it, on points whose neighbours can be counted by hand.

The voting rules are checked on a line with Euclidean distance (easy to count); the measure every view
uses, cosine distance, on directions."""
import numpy as np
import pytest

from core.distance import distances
from core.separability import knn_accuracy


def test_separated_classes_score_one_and_mixed_classes_score_zero():
    points = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]])
    assert knn_accuracy(points, np.array([0, 0, 0, 1, 1, 1]), k=2, metric="euclidean") == 1.0
    assert knn_accuracy(points, np.array([0, 1, 0, 1, 0, 1]), k=2, metric="euclidean") == 0.0


def test_a_sample_never_votes_for_itself():
    points = np.array([[0.0], [1.0], [5.0]])
    # k=1: 0 -> nearest other is 1 (label b), 1 -> 0 (a), 5 -> 1 (b): only the last is right
    assert knn_accuracy(points, np.array(["a", "b", "b"]), k=1, metric="euclidean") == pytest.approx(1 / 3)


def test_ties_go_to_the_nearest_label():
    points = np.array([[0.0], [1.0], [-2.0], [50.0]])
    # sample 0 with k=2: neighbours 1 (label 1, nearer) and -2 (label 2): tie -> label 1, correct
    labels = np.array([1, 1, 2, 3])
    acc = knn_accuracy(points, labels, k=2, metric="euclidean")
    # 0: {1,2} tie -> nearest is 1 -> correct; 1: {0 (1), -2 (2)} -> 1 correct; -2: {0,1} -> 1 wrong;
    # 50: {1 (1), 0 (1)} -> 1 wrong
    assert acc == pytest.approx(2 / 4)


def test_k_larger_than_the_data_is_capped():
    points = np.array([[0.0], [1.0], [2.0]])
    assert knn_accuracy(points, np.array([0, 0, 0]), k=10, metric="euclidean") == 1.0
    assert np.isnan(knn_accuracy(points[:1], np.array([0])))


def test_cosine_distance_compares_directions_not_sizes():
    features = np.array([[1.0, 0.0], [10.0, 0.0], [0.0, 3.0], [-2.0, 0.0], [0.0, 0.0]])
    assert distances(features, np.array([5.0, 0.0])) == pytest.approx([0.0, 0.0, 1.0, 2.0, 1.0])


def test_neighbours_by_direction_beat_neighbours_by_size():
    """Two classes that differ in direction, each with a small and a large sample. By hand, k=1:
    with cosine each sample's nearest is its own class's other sample (same direction); with Euclidean
    distance the two small samples are nearest each other (distance 1 against 9), so half are wrong."""
    points = np.array([[1.0, 0.0], [10.0, 0.1],  # class 0: along x
                       [0.5, 0.866], [5.1, 8.66]])  # class 1: at 60 degrees
    labels = np.array([0, 0, 1, 1])
    assert knn_accuracy(points, labels, k=1) == 1.0
    assert knn_accuracy(points, labels, k=1, metric="euclidean") == 0.5
