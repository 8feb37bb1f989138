"""Linear CKA (core/cka.py): a value counted by hand, the N x N Gram-matrix definition it must equal,
and the invariances that make it a comparison of representations (rotations, uniform scaling) but not
of arbitrary rescalings."""
import numpy as np
import pytest

from core import cka as cka_module
from core.cka import cka_matrix, linear_cka


def gram_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Kornblith et al.'s definition: HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)) with K = X Xᵀ, L = Y Yᵀ
    and HSIC(K, L) = tr(K H L H), H the centring matrix."""
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, ell = x @ x.T, y @ y.T

    def hsic(a, b):
        return np.trace(a @ h @ b @ h)
    return hsic(k, ell) / np.sqrt(hsic(k, k) * hsic(ell, ell))


def test_a_small_case_counted_by_hand():
    # centred x = (-1, 0, 1); y's columns (-1, 0, 1) and (1, -2, 1) are centred and orthogonal:
    # Yᵀx = (2, 0) -> 4; ||xᵀx|| = 2; YᵀY = diag(2, 6) -> sqrt(40); CKA = 4 / (2 sqrt 40) = 1 / sqrt 10
    x = np.array([[1.0], [2.0], [3.0]])
    y = np.array([[-1.0, 1.0], [0.0, -2.0], [1.0, 1.0]])
    assert linear_cka(x, y) == pytest.approx(1 / np.sqrt(10), rel=1e-12)


def test_the_feature_form_equals_the_gram_matrix_definition():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6)) + 3.0  # uncentred on purpose
    y = x[:, :3] @ rng.normal(size=(3, 4)) + rng.normal(size=(40, 4))
    assert linear_cka(x, y) == pytest.approx(gram_cka(x, y), rel=1e-10)
    assert 0.1 < linear_cka(x, y) < 0.99


def test_invariant_to_rotations_and_uniform_scaling_but_not_to_stretching_one_axis():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 5))
    y = x @ rng.normal(size=(5, 5)) + 0.5 * rng.normal(size=(60, 5))
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    before = linear_cka(x, y)
    assert linear_cka(x @ q, y) == pytest.approx(before, rel=1e-10)
    assert linear_cka(7.5 * x + 2.0, y) == pytest.approx(before, rel=1e-10)
    assert linear_cka(x, 0.01 * y) == pytest.approx(before, rel=1e-10)
    assert linear_cka(x * np.array([10.0, 1, 1, 1, 1]), y) != pytest.approx(before, rel=1e-3)


def test_the_matrix_is_symmetric_with_ones_on_the_diagonal_and_equals_each_pair(monkeypatch):
    monkeypatch.setattr(cka_module, "ROWS_PER_BLOCK", 7)  # the cross products accumulate over 5 blocks
    rng = np.random.default_rng(2)
    layers = [rng.normal(size=(30, d)).astype(np.float32) for d in (2, 5, 3)]
    layers.append(layers[1] @ rng.normal(size=(5, 4)).astype(np.float32))
    m = cka_matrix(layers)
    assert m.shape == (4, 4)
    np.testing.assert_array_equal(m, m.T)
    np.testing.assert_array_equal(np.diag(m), 1.0)
    for i, a in enumerate(layers):
        for j, b in enumerate(layers):
            assert m[i, j] == pytest.approx(gram_cka(a.astype(float), b.astype(float)), rel=1e-6)
    across = cka_matrix(layers[:2], layers[1:])
    np.testing.assert_allclose(across, m[:2, 1:], rtol=1e-10)


def test_a_representation_without_variance_has_no_cka():
    x = np.random.default_rng(3).normal(size=(10, 2))
    m = cka_matrix([x, np.ones((10, 3))])
    assert m[0, 0] == 1.0 and np.isnan(m[1, 1]) and np.isnan(m[0, 1]) and np.isnan(m[1, 0])


def test_representations_of_different_samples_are_refused():
    with pytest.raises(ValueError):
        cka_matrix([np.zeros((4, 2))], [np.zeros((5, 2))])
