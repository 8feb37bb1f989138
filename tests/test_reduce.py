"""Per-layer reduction: the perplexity actually used, PCA to 90 %, and maps that place new points."""
import numpy as np
import pytest

from core.reduce import (
    EARLY_ITERATIONS,
    LARGE_TSNE,
    MAX_COMPONENTS,
    TSNE_ITERATIONS,
    fit_pca,
    reduce_layer,
    resolve_perplexities,
    tsne_maps,
    tsne_settings,
)
from core.reference import LayerReference
from core.separability import knn_accuracy, neighbour_preservation


def test_perplexity_is_capped_below_n_over_3():
    assert resolve_perplexities((10, 30, 90), 100) == {10.0: 10.0, 30.0: 30.0, 90.0: 33.0}
    assert resolve_perplexities((10, 30, 90), 1000) == {10.0: 10.0, 30.0: 30.0, 90.0: 90.0}
    assert resolve_perplexities((30,), 3) == {}
    for n in (4, 31, 100, 301):
        for used in resolve_perplexities((10, 30, 90), n).values():
            assert 3 * used < n


def test_pca_keeps_90_percent_with_the_fewest_components():
    rng = np.random.default_rng(0)
    # three strong directions carry almost all variance
    x = rng.normal(size=(200, 3)) @ rng.normal(size=(3, 40)) * 10 + rng.normal(size=(200, 40)) * 0.01
    pca, keep = fit_pca(x)
    assert keep <= 3
    assert pca.explained_variance_ratio_[:keep].sum() >= 0.9
    noise = rng.normal(size=(300, 200))
    assert fit_pca(noise)[1] == MAX_COMPONENTS  # the documented cap


@pytest.fixture(scope="module")
def two_clusters():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 30)).astype(np.float32)
    x[:30] += 6
    return x


def test_maps_exist_at_every_used_perplexity_and_separate_clusters(two_clusters):
    used = resolve_perplexities((5, 30), len(two_clusters))
    reduction = reduce_layer(two_clusters, used)
    assert set(reduction.tsne) == {5.0, 19.0}
    for coords in [reduction.pca2, *reduction.tsne.values()]:
        assert coords.shape == (60, 2) and np.isfinite(coords).all()
        a, b = coords[:30].mean(0), coords[30:].mean(0)
        spread = max(coords[:30].std(0).max(), coords[30:].std(0).max())
        assert np.linalg.norm(a - b) > 2 * spread
    assert not np.allclose(reduction.tsne[5.0], reduction.tsne[19.0])


def test_stored_basis_places_a_sample_where_it_was(two_clusters):
    reduction = reduce_layer(two_clusters, {})
    assert np.allclose(reduction.project(two_clusters[:5]), reduction.features[:5], atol=1e-4)
    again = LayerReference.from_arrays(reduction.reference(np.arange(60, dtype=np.int32)).to_arrays())
    assert np.array_equal(again.features, reduction.features)


def test_reduction_is_deterministic(two_clusters):
    used = resolve_perplexities((10,), len(two_clusters))
    first, second = reduce_layer(two_clusters, used), reduce_layer(two_clusters, used)
    assert np.array_equal(first.tsne[10.0], second.tsne[10.0])


def test_constant_layer_does_not_crash():
    reduction = reduce_layer(np.ones((20, 8), np.float32), resolve_perplexities((5,), 20))
    assert reduction.features.shape == (20, 2)
    assert reduction.tsne[5.0].shape == (20, 2)


def test_layers_run_side_by_side_give_the_same_maps_as_running_inline(two_clusters):
    from core.reduce import pca_layer, tsne_maps, tsne_pool

    features = pca_layer(two_clusters).features
    inline = tsne_maps(features, [10.0, 5.0], 0, 1)
    with tsne_pool(2) as pool:
        jobs = [pool.submit(tsne_maps, features, [10.0, 5.0], 0, 1) for _ in range(3)]
        pooled = [job.result() for job in jobs]
    assert all(np.array_equal(inline[p], run[p]) for run in pooled for p in (10.0, 5.0))


def test_while_layers_run_side_by_side_blas_keeps_to_one_thread_everywhere():
    # scikit-learn's neighbour search sets BLAS threads process-wide around its OpenMP loops; with two
    # layers at once that race let OpenBLAS warn "Detect OpenMP Loop and this application may hang"
    from threadpoolctl import threadpool_info

    from core.reduce import tsne_pool

    def blas_threads() -> set[int]:
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    before = blas_threads()
    with tsne_pool(2) as pool:
        assert pool.submit(blas_threads).result() == blas_threads() == {1}
    assert blas_threads() == before


def test_large_samples_get_fft_gradients_and_a_caller_can_still_choose():
    assert tsne_settings(LARGE_TSNE - 1) == ("bh", TSNE_ITERATIONS, EARLY_ITERATIONS)
    assert tsne_settings(LARGE_TSNE) == ("fft", TSNE_ITERATIONS, EARLY_ITERATIONS)
    assert tsne_settings(LARGE_TSNE, "bh", 300) == ("bh", 300, EARLY_ITERATIONS)
    assert tsne_settings(LARGE_TSNE, early_iter=250) == ("fft", TSNE_ITERATIONS, 250)


def test_the_chosen_settings_keep_neighbourhoods_and_clusters_like_openTSNEs_default():
    """Each "auto" setting's maps, on a small clustered set, against Barnes-Hut with openTSNE's 500
    iterations (what every catalog used before)."""
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(8, 20)) * 6
    labels = np.arange(640) % 8
    x = (centres[labels] + rng.normal(size=(640, 20))).astype(np.float32)
    before = neighbour_preservation(x, tsne_maps(x, [30.0], 0, 1, "bh", 500, 250)[30.0])
    for n in (LARGE_TSNE - 1, LARGE_TSNE):
        chosen = [tsne_maps(x, [30.0], seed, 1, *tsne_settings(n))[30.0] for seed in range(3)]
        assert np.median([neighbour_preservation(x, m) for m in chosen]) >= before - 0.03
        # 8 clusters kept apart (chance: 0.125); FFT's settings on only 640 points may leave a
        # cluster's fragment beside another: 0.95-1.0 by seed, as with 250 iterations (0.97-1.0)
        assert np.median([knn_accuracy(m, labels) for m in chosen]) >= 0.95


@pytest.mark.parametrize("n, d", [(300, 40), (1200, 1100)])  # the full and the randomized SVD
def test_pca_that_may_overwrite_its_inputs_gives_the_same_map(n, d):
    """The builder lets PCA centre a layer's inputs in place (no N x D copy at 7000 images): the layer's
    coordinates, mean and components are those of PCA on an untouched copy."""
    from core.reduce import pca_layer
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(n, 5)) @ rng.normal(size=(5, d)) + 0.05 * rng.normal(size=(n, d)) + 3).astype(np.float32)
    kept = pca_layer(x.copy())
    lost = x.copy()
    overwritten = pca_layer(lost, overwrite=True)
    assert not np.allclose(lost, x)  # the inputs were used up, as allowed
    assert overwritten.features.shape == kept.features.shape
    np.testing.assert_allclose(overwritten.pca_mean, kept.pca_mean, atol=1e-4)
    np.testing.assert_allclose(np.abs(overwritten.features), np.abs(kept.features), rtol=1e-3, atol=1e-3)
    # the stored components still place the inputs where the map has them (as an uploaded image is placed)
    np.testing.assert_allclose(overwritten.project(x), overwritten.features, rtol=1e-3, atol=1e-2)
    read_only = x.copy()
    read_only.flags.writeable = False  # a Ray task's inputs: copied, not overwritten
    np.testing.assert_allclose(np.abs(pca_layer(read_only, overwrite=True).features), np.abs(kept.features),
                               rtol=1e-3, atol=1e-3)


def test_t_sne_gets_the_exact_knn_graph_at_any_size_up_to_the_limit():
    """Above 1000 samples openTSNE would use an approximate index (Annoy); the builder gives it the
    exact neighbours instead (cheaper at these sizes): the same affinities as openTSNE's exact search."""
    from openTSNE import affinity

    from core.reduce import _affinities

    rng = np.random.default_rng(4)
    x = rng.normal(size=(1500, 10)).astype(np.float32)
    ours = _affinities(x, 30.0, seed=0, n_jobs=1)
    exact = affinity.PerplexityBasedNN(x, perplexity=30.0, method="exact", n_jobs=1, random_state=0)
    assert abs(ours.P - exact.P).max() < 1e-8
