"""Leave-one-out k-NN accuracy, on points whose neighbours can be counted by hand."""
import numpy as np
import pytest

from core.separability import knn_accuracy


def test_separated_classes_score_one_and_mixed_classes_score_zero():
    points = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]])
    assert knn_accuracy(points, np.array([0, 0, 0, 1, 1, 1]), k=2) == 1.0
    assert knn_accuracy(points, np.array([0, 1, 0, 1, 0, 1]), k=2) == 0.0


def test_a_sample_never_votes_for_itself():
    points = np.array([[0.0], [1.0], [5.0]])
    # k=1: 0 -> nearest other is 1 (label b), 1 -> 0 (a), 5 -> 1 (b): only the last is right
    assert knn_accuracy(points, np.array(["a", "b", "b"]), k=1) == pytest.approx(1 / 3)


def test_ties_go_to_the_nearest_label():
    points = np.array([[0.0], [1.0], [-2.0], [50.0]])
    # sample 0 with k=2: neighbours 1 (label 1, nearer) and -2 (label 2): tie -> label 1, correct
    labels = np.array([1, 1, 2, 3])
    acc = knn_accuracy(points, labels, k=2)
    # 0: {1,2} tie -> nearest is 1 -> correct; 1: {0 (1), -2 (2)} -> 1 correct; -2: {0,1} -> 1 wrong;
    # 50: {1 (1), 0 (1)} -> 1 wrong
    assert acc == pytest.approx(2 / 4)


def test_k_larger_than_the_data_is_capped():
    points = np.array([[0.0], [1.0], [2.0]])
    assert knn_accuracy(points, np.array([0, 0, 0]), k=10) == 1.0
    assert np.isnan(knn_accuracy(points[:1], np.array([0])))
