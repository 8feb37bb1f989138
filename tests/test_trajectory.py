"""Each sample's path through the depth: the 10-NN vote at a layer (core/separability.py, the vote
behind the separability curve) and where, from the votes over the layers, a sample settles on the
model's answer and a misclassified one loses its true label (core/trajectory.py). Counted by hand."""
import numpy as np
import pytest

from core.separability import knn_accuracy, knn_votes, nearest_others
from core.trajectory import CLASS, GROUP, from_here_on, reading_level, separates_at, settled_and_lost


def test_each_sample_gets_the_label_its_neighbours_vote_for_and_the_share_that_did():
    points = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])
    labels = np.array(["a", "a", "b", "b", "b"])
    neighbours = nearest_others(points, k=3, metric="euclidean")
    # 0: 1 (a), 2 (b), 3 (b) -> b 2/3;  1: 0 or 2 first (tie in distance), then the other, then 3 -> b 2/3
    # 2: 1 (a) and 3 (b) then 0 (a) -> a 2/3;  3: 2 (b), 1 (a), 0 (a) -> a 2/3;  10: 3, 2 (b), 1 (a) -> b 2/3
    voted, share = knn_votes(neighbours, labels)
    assert list(voted) == ["b", "b", "a", "a", "b"]
    np.testing.assert_allclose(share, 2 / 3)
    assert knn_accuracy(points, labels, k=3, metric="euclidean") == pytest.approx(np.mean(voted == labels))


def test_a_duplicate_never_makes_a_sample_its_own_neighbour():
    points = np.array([[0.0], [0.0], [0.0], [5.0]])
    neighbours = nearest_others(points, k=2, metric="euclidean")
    assert all(i not in row for i, row in enumerate(neighbours))
    assert neighbours.shape == (4, 2)
    assert set(neighbours[3]) <= {0, 1, 2}


def test_one_sample_has_nobody_to_vote():
    voted, share = knn_votes(nearest_others(np.zeros((1, 2))), np.array([7]))
    assert len(voted) == len(share) == 0


def test_from_here_on_finds_the_shallowest_layer_of_the_last_unbroken_run():
    holds = np.array([[1, 0, 1, 0, 1],
                      [0, 1, 1, 0, 1],
                      [1, 1, 1, 1, 0]], dtype=bool)  # layers x samples
    assert list(from_here_on(holds)) == [2, 1, 0, 2, -1]


def test_settled_and_lost_by_hand():
    # four samples over four layers; truth and answer per sample
    votes = np.array([[0, 5, 1, 2],
                      [1, 5, 1, 3],
                      [0, 2, 3, 3],
                      [0, 2, 3, 2]])
    truth = np.array([0, 5, 1, 2])
    answer = np.array([0, 2, 3, 3])  # sample 0 right; 1, 2 and 3 wrong
    settled, lost = settled_and_lost(votes, answer, truth)
    # 0: vote is the answer from layer 2 on (layer 1 broke it); right, so never lost
    # 1: answer 2 from layer 2 on; true label 5 last seen at layer 1, lost from 2
    # 2: answer 3 from layer 2 on; true label 1 last at layer 1, lost from 2
    # 3: deepest vote 2 is its true label, not the answer 3: never settled, not lost
    assert list(settled) == [2, 2, 2, -1]
    assert list(lost) == [-1, 2, 2, -1]


def test_a_misclassified_sample_whose_neighbours_never_held_its_label_is_lost_from_the_first_layer():
    settled, lost = settled_and_lost(np.array([[4], [4]]), np.array([4]), np.array([9]))
    assert list(settled) == [0] and list(lost) == [0]


def test_classes_are_read_where_one_repeats_else_coarse_groups():
    assert reading_level([3, 5, 3]) == CLASS
    assert reading_level([3, 5, 7]) == GROUP


def test_a_pair_comes_apart_where_its_confusion_stays_at_most_half_its_peak():
    assert separates_at([0.1, 0.4, 0.3, 0.2, 0.0]) == 3  # 0.2 is half the peak 0.4, and it stays below
    assert separates_at([0.5, 0.1, 0.6, 0.2]) == 3  # a dip that rises again is not apart yet
    assert separates_at([0.1, 0.5]) == -1  # mixed to the end
    assert separates_at([0.0, 0.0, float("nan")]) is None  # never mixed
    assert separates_at([]) is None
