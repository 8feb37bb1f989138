"""How alike two layers' representations of the same samples are: linear CKA (centred kernel
alignment, Kornblith et al., 2019), 1 for representations equal up to a rotation and a uniform scale.

For centred features X (N, p) and Y (N, q), linear CKA is ||Yᵀ X||²_F / (||Xᵀ X||_F ||Yᵀ Y||_F), the
same number as the HSIC form on the N x N Gram matrices X Xᵀ and Y Yᵀ. This module uses the feature
form: the catalog keeps at most 50 PCA components a layer, so every product is at most 50 x 50
summed over N, where a Gram matrix is N x N (7000 samples: 49 million entries per layer). All
layers' features are stacked and their cross products accumulated in blocks of rows, in float64, so
one pass over the samples gives every pair. (The CKA packages on PyPI, torch-cka, cka-pytorch and the
like, hook a live torch model and build Gram matrices per batch; none works on stored features, and the
formula is three lines.)
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ROWS_PER_BLOCK = 2048  # samples per block of the cross products: bounds the float64 copies


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA of two representations (N, p) and (N, q) of the same N samples."""
    return float(cka_matrix([x], [y])[0, 0])


def cka_matrix(a: Sequence[np.ndarray], b: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """(len(a), len(b)) linear CKA of every representation in `a` against every one in `b` (all of the
    same N samples, rows in the same order); `b` left out: `a` against itself, symmetric, 1 on the
    diagonal. A representation without variance has no CKA: NaN."""
    same = b is None
    b = a if same else b
    n = len(a[0])
    if any(len(m) != n for m in (*a, *b)):
        raise ValueError("every representation must hold the same samples")
    cross = _cross_products(a, None if same else b, n)
    edges_a = np.cumsum([0] + [m.shape[1] for m in a])
    edges_b = edges_a if same else np.cumsum([0] + [m.shape[1] for m in b])
    if same:
        norms_a = norms_b = _block_norms(cross, edges_a, edges_a)
    else:
        norms_a = np.array([np.linalg.norm(_cross_products([m], None, n)) for m in a])
        norms_b = np.array([np.linalg.norm(_cross_products([m], None, n)) for m in b])
    sums = np.array([[np.square(cross[edges_a[i]:edges_a[i + 1], edges_b[j]:edges_b[j + 1]]).sum()
                      for j in range(len(b))] for i in range(len(a))])
    with np.errstate(divide="ignore", invalid="ignore"):
        cka = sums / np.outer(norms_a, norms_b)
    cka[~(np.outer(norms_a, norms_b) > 0)] = np.nan
    if same:
        cka = (cka + cka.T) / 2  # the same sums either way round, up to rounding
        np.fill_diagonal(cka, np.where(norms_a > 0, 1.0, np.nan))
    return cka


def _block_norms(cross: np.ndarray, edges_a: np.ndarray, edges_b: np.ndarray) -> np.ndarray:
    return np.array([np.linalg.norm(cross[edges_a[i]:edges_a[i + 1], edges_b[i]:edges_b[i + 1]])
                     for i in range(len(edges_a) - 1)])


def _cross_products(a: Sequence[np.ndarray], b: Sequence[np.ndarray] | None, n: int) -> np.ndarray:
    """Aᵀ B of the stacked, column-centred representations (B = A when b is None), in float64."""
    means_a = [np.asarray(m, dtype=np.float64).mean(axis=0) for m in a]
    means_b = means_a if b is None else [np.asarray(m, dtype=np.float64).mean(axis=0) for m in b]
    width_a = sum(m.shape[1] for m in a)
    width_b = width_a if b is None else sum(m.shape[1] for m in b)
    total = np.zeros((width_a, width_b))
    for start in range(0, n, ROWS_PER_BLOCK):
        rows = slice(start, min(n, start + ROWS_PER_BLOCK))
        left = np.hstack([np.asarray(m[rows], dtype=np.float64) - mu for m, mu in zip(a, means_a)])
        right = left if b is None else np.hstack([np.asarray(m[rows], dtype=np.float64) - mu
                                                  for m, mu in zip(b, means_b)])
        total += left.T @ right
    return total
