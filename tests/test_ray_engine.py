"""`--engine ray`: the same catalog as the local engine, built on a local Ray cluster of two worker
nodes started here (so batches, rows and features really cross processes); a killed actor costs
a retry, not the build, and actors that keep dying stop it instead of hanging it. One cluster serves
the module: Ray's start-up takes seconds."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Self

import numpy as np
import pytest
from ray.cluster_utils import Cluster

import catalog
from builder import BuildConfig, build_catalog
from builder.ray_engine import ACTOR_RESTARTS, INSTALL_HINT
from catalog.layout import table_files
from core import explain
from core.datasets import SAMPLE_DIR
from core.errors import LayerScopeError
from core.reduce import tsne_maps
from scripts import build_catalog as cli
from tests.test_catalog import write_minimal

pytestmark = pytest.mark.slow  # each test starts a local Ray cluster

OBJECT_STORE = 150 * 1024 * 1024  # bytes per node: the catalog's rows and features are small here
IMAGES = 10
ACTOR_TITLE = b"ray::MapWorker(MapBatches(ImagePass))"  # the process title Ray gives our actors


@pytest.fixture(scope="module")
def cluster():
    """A head that runs nothing (no CPU) and two worker nodes of one CPU each, no dashboard."""
    ray_cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "include_dashboard": False, "object_store_memory": OBJECT_STORE})
    for _ in range(2):
        ray_cluster.add_node(num_cpus=1, object_store_memory=OBJECT_STORE)
    ray_cluster.wait_for_nodes()
    yield ray_cluster
    ray_cluster.shutdown()


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """Ten bundled photos and one truncated file, which both engines must skip alike."""
    folder = tmp_path_factory.mktemp("images")
    photos = sorted(SAMPLE_DIR.glob("*.jpg"))[:IMAGES]
    for photo in photos:
        shutil.copy(photo, folder / photo.name)
    (folder / f"{photos[0].name[:9]}_cut.jpg").write_bytes(photos[1].read_bytes()[:3000])
    return folder


def _config(images: Path, out: Path, **engine) -> BuildConfig:
    return BuildConfig(dataset=str(images), perplexities=(3,), batch_size=4, out=out, **engine)


@pytest.fixture(scope="module")
def both(cluster, images, tmp_path_factory):
    """(local catalog, Ray catalog) of the same images."""
    out = tmp_path_factory.mktemp("catalogs")
    local, _ = build_catalog(_config(images, out / "local"))
    ray_path, _ = build_catalog(_config(images, out / "ray", engine="ray", ray_address=cluster.address))
    return local, ray_path


def rows(path: Path, sql: str) -> list[tuple]:
    return catalog.open(path).execute(sql).fetchall()


def test_both_engines_predict_the_same_top_k_for_the_same_samples(both):
    local, ray_path = both
    sql = "SELECT sample_id, rank, class_idx, prob FROM predictions ORDER BY sample_id, rank"
    mine, theirs = rows(local, sql), rows(ray_path, sql)
    assert len(mine) == 10 * IMAGES
    assert [r[:3] for r in mine] == [r[:3] for r in theirs]
    np.testing.assert_allclose([r[3] for r in mine], [r[3] for r in theirs], atol=1e-5)
    sql = "SELECT sample_id, key, path, label_idx FROM samples ORDER BY sample_id"
    assert rows(local, sql) == rows(ray_path, sql)
    sql = "SELECT key, reason FROM skipped"
    assert rows(local, sql) == rows(ray_path, sql) and len(rows(local, sql)) == 1


def test_both_engines_store_the_same_channel_statistics(both):
    local, ray_path = both
    sql = "SELECT * FROM channels ORDER BY sample_id, layer_id, channel"
    mine, theirs = rows(local, sql), rows(ray_path, sql)
    assert len(mine) == len(theirs) > 0
    assert [r[:3] for r in mine] == [r[:3] for r in theirs]
    a, b = np.array([r[3:] for r in mine], float), np.array([r[3:] for r in theirs], float)
    np.testing.assert_allclose(a[:, 0], b[:, 0], rtol=1e-4, atol=1e-4)  # mean magnitude
    # Entropy counts a 10-bin histogram: float noise (other thread counts) moves a value lying on a
    # bin edge into the next bin now and then, a small step in entropy and so in score, never more.
    close = np.isclose(a[:, 1:], b[:, 1:], rtol=1e-4, atol=1e-4)
    assert close[:, 0].mean() > 0.999 and np.abs(a[:, 1] - b[:, 1]).max() < 0.15
    assert (close[:, 1] | ~close[:, 0]).all()  # the score differs only where the entropy does


def test_both_engines_explain_the_same_class_with_the_same_maps(both):
    local, ray_path = both
    sql = "SELECT sample_id, class_idx, gradcam, guided, guided_gradcam FROM explanations ORDER BY sample_id"
    mine, theirs = rows(local, sql), rows(ray_path, sql)
    assert [r[:2] for r in mine] == [r[:2] for r in theirs] and len(mine) == IMAGES
    for a, b in zip(mine, theirs):
        for column in (2, 3, 4):
            x, y = explain.decode(a[column]).astype(float), explain.decode(b[column]).astype(float)
            assert x.shape == y.shape
            assert np.abs(x - y).mean() < 1.0 and np.abs(x - y).max() <= 16  # 8-bit, lossily coded


def _pca(path: Path) -> dict[int, np.ndarray]:
    found = rows(path, "SELECT layer_id, list(x ORDER BY sample_id), list(y ORDER BY sample_id) FROM embeddings "
                       "WHERE method = 'pca' GROUP BY layer_id")
    return {layer: np.array([xs, ys]).T for layer, xs, ys in found}


def test_pca_maps_are_equal_up_to_the_sign_of_each_axis(both):
    local, ray_path = both
    mine, theirs = _pca(local), _pca(ray_path)
    assert mine.keys() == theirs.keys() and len(mine) > 20
    for layer, a in mine.items():
        b = theirs[layer]
        signs = np.where(np.sum(a * b, axis=0) < 0, -1.0, 1.0)
        scale = max(1.0, float(np.abs(a).max()))
        np.testing.assert_allclose(a, b * signs, atol=1e-3 * scale, err_msg=f"layer {layer}")
    sql = "SELECT layer_id, reduction_dim, pca_components FROM layers ORDER BY layer_id"
    assert rows(local, sql) == rows(ray_path, sql)


def test_tsne_maps_come_from_the_same_seed_and_inputs(both):
    """Each Ray t-SNE map is what openTSNE makes here from the catalog's own PCA features and seed."""
    local, ray_path = both
    for layer_id in (0, 5, 12, 23):
        reduction = catalog.load_reference(ray_path, layer_id)
        assert list(reduction.tsne) == [3.0]
        again = tsne_maps(reduction.features, [3.0], seed=0, n_jobs=1)
        np.testing.assert_allclose(reduction.tsne[3.0], again[3.0], atol=1e-4)
        # and the inputs differ from the local engine's by float noise only, so the maps nearly agree
        mine = catalog.load_reference(local, layer_id).tsne[3.0]
        signs = np.where(np.sum(mine * reduction.tsne[3.0], axis=0) < 0, -1.0, 1.0)
        extent = float(np.ptp(mine, axis=0).max())
        assert np.abs(mine - reduction.tsne[3.0] * signs).max() < 0.05 * extent


def test_both_engines_store_the_same_trajectories_settling_and_layer_similarity(both):
    local, ray_path = both
    sql = "SELECT * FROM trajectories ORDER BY sample_id, layer_id"
    mine, theirs = rows(local, sql), rows(ray_path, sql)
    assert len(mine) == len(theirs) == IMAGES * len(rows(local, "SELECT * FROM layers"))
    assert [(r[0], r[1], r[2], r[4]) for r in mine] == [(r[0], r[1], r[2], r[4]) for r in theirs]
    np.testing.assert_allclose([(r[3], r[5]) for r in mine], [(r[3], r[5]) for r in theirs])
    sql = "SELECT * FROM settling ORDER BY sample_id"
    assert rows(local, sql) == rows(ray_path, sql) and len(rows(local, sql)) == IMAGES
    sql = "SELECT layer_a, layer_b, cka FROM layer_similarity ORDER BY layer_a, layer_b"
    mine, theirs = rows(local, sql), rows(ray_path, sql)
    assert [r[:2] for r in mine] == [r[:2] for r in theirs]
    np.testing.assert_allclose([r[2] for r in mine], [r[2] for r in theirs], atol=1e-4)


def test_both_engines_store_the_same_thumbnails_and_clusters(both):
    local, ray_path = both
    sql = "SELECT sample_id, thumb FROM thumbnails ORDER BY sample_id"
    assert rows(local, sql) == rows(ray_path, sql) and len(rows(local, sql)) == IMAGES
    sql = "SELECT layer_id, method, perplexity, cluster, label, purity, size FROM clusters ORDER BY ALL"
    assert rows(local, sql) == rows(ray_path, sql)
    sql = "SELECT * FROM cluster_members ORDER BY ALL"
    mine = rows(local, sql)
    assert mine == rows(ray_path, sql) and len(mine) == IMAGES * len(rows(local, "SELECT * FROM layers")) * 2


def test_the_ray_catalog_keeps_per_sample_tables_as_parquet_parts(both):
    local, ray_path = both
    for name in ("predictions", "channels", "images", "explanations", "thumbnails"):
        assert table_files(local, name) == [local / f"{name}.parquet"]
        parts = table_files(ray_path, name)
        assert parts and all(p.parent.name == name for p in parts)
    assert catalog.load_manifest(ray_path)["engine"] == "ray"
    assert catalog.load_manifest(local)["engine"] == "local"


def _actor_pids() -> list[int]:
    """Our model actors' worker processes, below this test process (the cluster is its child)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(ACTOR_TITLE) and _descends_from(int(entry.name), os.getpid()):
                found.append(int(entry.name))
    return found


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            pid = int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return False
    return False


class KillingOneActor:
    """A progress bar that, when the first batch of the one pass is in, kills one actor's process."""

    killed: list[int] = []
    seen_when_killed: list[int] = []

    def __init__(self, desc: str, total: int, unit: str = "img"):
        self.desc, self.total, self.done = desc, total, 0

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.desc == "one pass" and not self.killed:
            pids = _actor_pids()
            assert pids, "no actor process found"
            os.kill(pids[0], signal.SIGKILL)
            self.killed.append(pids[0])
            self.seen_when_killed.append(self.done)

    def close(self) -> None:
        pass


def test_a_killed_actor_costs_a_retry_not_the_build(cluster, images, both, tmp_path):
    local, _ = both
    config = _config(images, tmp_path / "ray", engine="ray", ray_address=cluster.address)
    config.batch_size = 2  # six batches: the other actors' batches are still queued when one dies
    path, manifest = build_catalog(config, progress=KillingOneActor)
    assert KillingOneActor.killed and KillingOneActor.seen_when_killed[0] < IMAGES + 1
    assert manifest["n_samples"] == IMAGES and manifest["n_skipped"] == 1
    sql = "SELECT sample_id, rank, class_idx FROM predictions ORDER BY ALL"
    assert rows(path, sql) == rows(local, sql)
    for table in ("channels", "images", "explanations"):
        sql = f"SELECT count(*), count(DISTINCT sample_id) FROM {table}"
        assert rows(path, sql) == rows(local, sql)
    sql = "SELECT layer_id, method, count(*) FROM embeddings GROUP BY ALL ORDER BY ALL"
    assert rows(path, sql) == rows(local, sql)


class ActorKiller:
    """Kills every actor of ours as soon as it appears, from a thread, until stopped or `deadline_s`
    has passed (then the build may finish: a test of bounded retries fails instead of hanging)."""

    def __init__(self, deadline_s: float):
        self.kills, self.deadline_s = 0, deadline_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        ends = time.monotonic() + self.deadline_s
        while not self.stop.wait(0.2) and time.monotonic() < ends:
            for pid in _actor_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                    self.kills += 1
                except ProcessLookupError:
                    pass

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        self.thread.join()


def test_actors_that_keep_dying_stop_the_build_with_one_line_and_the_old_catalog_stays(cluster, images, tmp_path):
    target = tmp_path / "cat"
    write_minimal(target, "first")
    config = _config(images, target, engine="ray", ray_address=cluster.address)
    with ActorKiller(deadline_s=240) as killer, pytest.raises(LayerScopeError) as failed:
        build_catalog(config)
    assert str(failed.value).startswith("the Ray cluster failed the one pass: ")
    assert "\n" not in str(failed.value)
    assert killer.kills > ACTOR_RESTARTS  # each actor was restarted, then given up on
    assert catalog.load_manifest(target)["marker"] == "first"


def test_without_ray_installed_the_build_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    with pytest.raises(LayerScopeError, match="pip install -r requirements-ray.txt"):
        build_catalog(BuildConfig(engine="ray", out=tmp_path / "c"))
    assert cli.main(["--engine", "ray", "--out", str(tmp_path / "c")]) == 2
    assert capsys.readouterr().err == f"error: {INSTALL_HINT}\n"
    assert not (tmp_path / "c").exists()


def test_an_unreachable_cluster_is_one_line_and_the_old_catalog_stays(tmp_path, capsys):
    target = tmp_path / "cat"
    write_minimal(target, "first")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = cli.main(["--engine", "ray", "--ray-address", f"127.0.0.1:{port}", "--out", str(target)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: no Ray cluster answers at --ray-address 127.0.0.1:{port}")
    assert catalog.load_manifest(target)["marker"] == "first"


def test_cuda_on_a_cluster_without_gpus_is_one_line_and_leaves_no_connection(cluster, images, tmp_path):
    import ray
    config = _config(images, tmp_path / "c", engine="ray", ray_address=cluster.address, device="cuda")
    with pytest.raises(LayerScopeError, match="the Ray cluster has no GPU"):
        build_catalog(config)
    assert not ray.is_initialized() and not (tmp_path / "c").exists()


def test_ray_options_without_the_ray_engine_are_refused(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--ray-address", "127.0.0.1:6379"])
    assert "--ray-address and --ray-actors go with --engine ray" in capsys.readouterr().err
    config = cli.parse_args(["--engine", "ray", "--ray-address", "auto", "--ray-actors", "3"])
    assert (config.engine, config.ray_address, config.ray_actors) == ("ray", "auto", 3)
