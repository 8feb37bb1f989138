"""Resolving datasets: fake Imagenette archives via --data-dir, folder layouts, the bundled sample."""

import tarfile
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

import core.datasets as datasets
from core.datasets import (
    SAMPLE_DIR,
    Dataset,
    Sample,
    choose_stratified,
    resolve_dataset,
)
from core.errors import DatasetUnavailable
from core.imagenet import GROUPS, by_wnid

NETTE_WNIDS = ["n01440764", "n02102040", "n02979186"]  # tench, English springer, cassette player


def _jpeg(path: Path, shade: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 40), (shade, 100, 200)).save(path, "JPEG")
    return path


def _fake_imagenette(root: Path) -> Path:
    """imagenette2-160/{train,val}/<wnid>/<file>.JPEG, 3 classes x 4 val images, packed as the real .tgz."""
    tree = root / "tree"
    for c, wnid in enumerate(NETTE_WNIDS):
        for i in range(4):
            _jpeg(tree / "imagenette2-160" / "val" / wnid / f"ILSVRC2012_val_{c}{i:07d}.JPEG", 50 * c)
        _jpeg(tree / "imagenette2-160" / "train" / wnid / f"{wnid}_{c}.JPEG")
    (tree / "imagenette2-160" / "noisy_imagenette.csv").write_text("path,label\n")
    archive = root / "downloads" / "imagenette2-160.tgz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree / "imagenette2-160", arcname="imagenette2-160")
    return archive


@pytest.fixture
def archive(tmp_path) -> Path:
    return _fake_imagenette(tmp_path)


def _check_nette(dataset: Dataset) -> None:
    assert dataset.name == "imagenette"
    assert dataset.class_wnids == sorted(NETTE_WNIDS)
    assert len(dataset.samples) == 12  # val only, train ignored
    keys = [s.key for s in dataset.samples]
    assert keys == sorted(keys)
    first = dataset.samples[0]
    assert first.key == "n01440764/ILSVRC2012_val_00000000"
    assert (first.wnid, first.label_idx, first.label_name, first.dataset_class, first.group_name) == (
        "n01440764", 0, "tench", 0, "fish"
    )
    assert {s.dataset_class for s in dataset.samples if s.wnid == "n02979186"} == {2}
    assert all(s.path.is_file() and "val" in s.path.parts for s in dataset.samples)


def test_imagenette_from_tgz(tmp_path, archive):
    dataset = resolve_dataset("imagenette", data_dir=archive, cache_dir=tmp_path / "cache", progress=False)
    _check_nette(dataset)
    assert (tmp_path / "cache" / "extracted" / "imagenette2-160" / "val").is_dir()


def test_imagenette_from_folder_holding_tgz(tmp_path, archive):
    dataset = resolve_dataset("imagenette", data_dir=archive.parent, cache_dir=tmp_path / "cache", progress=False)
    _check_nette(dataset)


def test_imagenette_from_extracted_folder(tmp_path, archive):
    extracted = tmp_path / "tree" / "imagenette2-160"
    dataset = resolve_dataset("imagenette", data_dir=extracted, cache_dir=tmp_path / "cache", progress=False)
    _check_nette(dataset)
    assert dataset.root == extracted
    assert not (tmp_path / "cache").exists()  # nothing copied or unpacked


def test_imagenette_second_resolution_reuses_the_extraction(tmp_path, archive, monkeypatch):
    resolve_dataset("imagenette", data_dir=archive, cache_dir=tmp_path / "cache", progress=False)
    monkeypatch.setattr("core.download.tarfile.open", lambda *a, **k: pytest.fail("extracted twice"))
    _check_nette(resolve_dataset("imagenette", data_dir=archive, cache_dir=tmp_path / "cache", progress=False))


def test_imagenette_download_path_uses_cache_and_url(archive, monkeypatch, download_cache):
    urls: list[str] = []
    monkeypatch.setattr(datasets, "FASTAI_URL", archive.parent.as_uri() + "/{stem}.tgz")
    real_download = datasets.download
    monkeypatch.setattr(datasets, "download", lambda url, dest, **k: urls.append(url) or real_download(url, dest, **k))
    _check_nette(resolve_dataset("imagenette", progress=False))
    _check_nette(resolve_dataset("imagenette", progress=False))
    assert urls == [archive.as_uri()]  # downloaded once
    assert (download_cache / "imagenette2-160.tgz").is_file()


def test_imagenette_offline_message(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "FASTAI_URL", "http://127.0.0.1:9/{stem}.tgz")
    with pytest.raises(DatasetUnavailable, match="offline.*--data-dir"):
        resolve_dataset("imagewoof", size="320", cache_dir=tmp_path, progress=False)


def test_fastai_bad_size_and_bad_data_dir(tmp_path):
    with pytest.raises(DatasetUnavailable, match="160, 320, full"):
        resolve_dataset("imagenette", size="64", cache_dir=tmp_path)
    with pytest.raises(DatasetUnavailable, match="imagewoof2-160.tgz"):
        resolve_dataset("imagewoof", data_dir=tmp_path, cache_dir=tmp_path)


# ---- folders -------------------------------------------------------------------------------------


def test_image_folder_by_wnid(tmp_path):
    _jpeg(tmp_path / "n01443537" / "a.jpg")
    _jpeg(tmp_path / "n01443537" / "b.PNG")
    _jpeg(tmp_path / "n01440764" / "nested" / "c.jpeg")
    (tmp_path / "n01440764" / "notes.txt").write_text("not an image")
    _jpeg(tmp_path / ".thumbnails" / "t.jpg")
    dataset = resolve_dataset(str(tmp_path))
    assert dataset.class_wnids == ["n01440764", "n01443537"]
    assert [(s.key, s.label_name, s.dataset_class) for s in dataset.samples] == [
        ("n01440764/nested/c", "tench", 0),
        ("n01443537/a", "goldfish", 1),
        ("n01443537/b", "goldfish", 1),
    ]


def test_image_folder_by_class_name(tmp_path):
    _jpeg(tmp_path / "great_white_shark" / "1.jpg")
    _jpeg(tmp_path / "Golden Retriever" / "2.webp")
    dataset = resolve_dataset(str(tmp_path))
    assert {s.label_name for s in dataset.samples} == {"great white shark", "golden retriever"}
    assert {s.group_name for s in dataset.samples} == {"fish", "dogs"}


def test_flat_folder(tmp_path):
    _jpeg(tmp_path / "n01440764_tench.jpg")
    _jpeg(tmp_path / "n01440764_2.jpg")
    _jpeg(tmp_path / "n04285008_sports_car.JPG")
    (tmp_path / "README.md").write_text("ignored")
    dataset = resolve_dataset(str(tmp_path))
    assert [s.key for s in dataset.samples] == ["n01440764_2", "n01440764_tench", "n04285008_sports_car"]
    assert dataset.samples[-1].group_name == "vehicles"


def test_unknown_class_folders_are_named(tmp_path):
    for name in ["unicorn", "n01440764", "dragons", "n99999999"]:
        _jpeg(tmp_path / name / "x.jpg")
    with pytest.raises(DatasetUnavailable) as caught:
        resolve_dataset(str(tmp_path))
    message = str(caught.value)
    assert "'dragons'" in message and "'n99999999'" in message and "'unicorn'" in message
    assert "n01440764'" not in message and "WordNet id" in message


def test_unknown_flat_files_are_named_and_truncated(tmp_path):
    for i in range(8):
        _jpeg(tmp_path / f"holiday_{i}.jpg")
    with pytest.raises(DatasetUnavailable, match=r"'holiday_0.jpg'.* and 3 more.*<wnid>_"):
        resolve_dataset(str(tmp_path))


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(DatasetUnavailable, match="No images"):
        resolve_dataset(str(tmp_path / "empty"))
    with pytest.raises(DatasetUnavailable, match="No dataset folder.*'sample', 'imagenette'"):
        resolve_dataset(str(tmp_path / "absent"))


# ---- stratified choice ---------------------------------------------------------------------------


def _fake_samples(per_class: list[int]) -> list[Sample]:
    wnids = ["n01440764", "n01443537", "n01484850", "n01491361"]
    return [
        Sample(f"{wnids[c]}/{i:03d}", Path(f"/x/{c}/{i}.jpg"), wnids[c], c, by_wnid(wnids[c]).name, c, "fish")
        for c, count in enumerate(per_class)
        for i in range(count)
    ]


@pytest.mark.parametrize("n", [1, 3, 7, 10, 13])
def test_choice_is_balanced_sorted_and_deterministic(n):
    samples = _fake_samples([10, 3, 6, 8])
    chosen = choose_stratified(samples, n, seed=1)
    assert len(chosen) == n
    assert [s.key for s in chosen] == sorted(s.key for s in chosen)
    assert chosen == choose_stratified(list(reversed(samples)), n, seed=1)
    counts = Counter(s.dataset_class for s in chosen)
    if n <= 12:  # every class still has samples left: counts differ by at most one
        assert max(counts.values()) - min(counts.get(c, 0) for c in range(4)) <= 1


def test_choice_depends_on_seed():
    samples = _fake_samples([10, 10, 10, 10])
    choices = {tuple(s.key for s in choose_stratified(samples, 8, seed=seed)) for seed in range(5)}
    assert len(choices) > 1


def test_choice_takes_all_when_n_is_none_or_too_large():
    samples = _fake_samples([2, 3, 0, 1])
    assert choose_stratified(samples, None, 0) == sorted(samples, key=lambda s: s.key)
    assert choose_stratified(samples, 100, 0) == sorted(samples, key=lambda s: s.key)
    with pytest.raises(DatasetUnavailable):
        choose_stratified(samples, 0, 0)


def test_resolve_applies_n_and_seed(tmp_path, archive):
    kwargs = dict(data_dir=archive, cache_dir=tmp_path / "cache", progress=False)
    chosen = resolve_dataset("imagenette", n=6, seed=3, **kwargs)
    assert Counter(s.wnid for s in chosen.samples) == Counter({w: 2 for w in NETTE_WNIDS})
    assert chosen.class_wnids == sorted(NETTE_WNIDS)  # the classes stay those of the dataset
    assert chosen.samples == resolve_dataset("imagenette", n=6, seed=3, **kwargs).samples


# ---- bundled sample ------------------------------------------------------------------------------


def test_bundled_sample_is_small_known_and_varied():
    files = sorted(SAMPLE_DIR.glob("*.jpg"))
    assert len(files) >= 300
    assert sum(p.stat().st_size for p in files) <= 15_000_000
    assert all(by_wnid(p.name.split("_")[0]) is not None for p in files)
    dataset = resolve_dataset("sample")
    assert len(dataset.samples) == len(files)
    assert len({s.group_name for s in dataset.samples}) >= 10
    assert {s.group_name for s in dataset.samples} <= set(GROUPS)


def test_bundled_sample_subset():
    chosen = resolve_dataset("sample", n=50, seed=0)
    assert len(chosen.samples) == 50 and len({s.wnid for s in chosen.samples}) == 50
    assert len({s.group_name for s in chosen.samples}) >= 8
