"""Datasets as sorted lists of labelled image files: the bundled sample, Imagenette/Imagewoof, folders.

Every dataset is reduced to the same shape, `Dataset.samples` sorted by a stable key, so that a
sample's position (its `sample_id` in the catalog) does not depend on where the files came from.
"""

import os
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.download import download, extract_tgz
from core.errors import DatasetUnavailable
from core.imagenet import ImageNetClass, by_name, by_wnid, group_of

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
FASTAI_URL = "https://s3.amazonaws.com/fast-ai-imageclas/{stem}.tgz"
FASTAI_BASES = {"imagenette": "imagenette2", "imagewoof": "imagewoof2"}
FASTAI_SIZES = ("160", "320", "full")
_WNID_PREFIX = re.compile(r"^(n\d{8})_")
_SHOW_OFFENDERS = 5


@dataclass(frozen=True)
class Sample:
    """One labelled image: `key` is its stable id; `dataset_class` indexes `Dataset.class_wnids`."""

    key: str
    path: Path
    wnid: str
    label_idx: int
    label_name: str
    dataset_class: int
    group_name: str


@dataclass
class Dataset:
    """A resolved dataset: its classes (sorted wnids) and samples sorted by key."""

    name: str
    root: Path
    class_wnids: list[str]
    samples: list[Sample]
    source: str


def default_cache_dir() -> Path:
    """Where archives are downloaded and unpacked: $LAYERSCOPE_CACHE or ~/.cache/layerscope.

    (Activation maps the app computes have their own cache: `catalog.activation_cache`.)"""
    return Path(os.environ.get("LAYERSCOPE_CACHE") or Path.home() / ".cache" / "layerscope")


def resolve_dataset(
    spec: str,
    *,
    n: int | None = None,
    seed: int = 0,
    data_dir: Path | None = None,
    cache_dir: Path | None = None,
    size: str = "160",
    progress: bool = True,
) -> Dataset:
    """Turn `sample`, `imagenette`, `imagewoof` or a folder path into a Dataset of up to n samples."""
    if spec == "sample":
        dataset = _from_folder(SAMPLE_DIR, name="sample", source="bundled sample of ImageNet images (data/sample)")
    elif spec in FASTAI_BASES:
        dataset = _from_fastai(spec, size=size, data_dir=data_dir, cache_dir=cache_dir, progress=progress)
    else:
        folder = Path(spec).expanduser()
        dataset = _from_folder(folder, name=folder.resolve().name, source=str(folder.resolve()))
    return replace(dataset, samples=choose_stratified(dataset.samples, n, seed))


def choose_stratified(samples: list[Sample], n: int | None, seed: int) -> list[Sample]:
    """A seeded, class-balanced choice of n samples (all if n is None or too large), sorted by key.

    Classes take turns in a seeded order, each handing out its samples in a seeded order, so class
    counts differ by at most one (until small classes run out) and the same (samples, n, seed) always gives the same choice.
    """
    if n is not None and n < 1:
        raise DatasetUnavailable(f"The number of samples must be at least 1 (got {n}).")
    if n is None or n >= len(samples):
        return sorted(samples, key=lambda s: s.key)
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[Sample]] = defaultdict(list)
    for sample in sorted(samples, key=lambda s: s.key):
        by_class[sample.dataset_class].append(sample)
    class_order = [sorted(by_class)[i] for i in rng.permutation(len(by_class))]
    queues = [[by_class[c][i] for i in rng.permutation(len(by_class[c]))] for c in class_order]
    chosen: list[Sample] = []
    for turn in range(max(len(q) for q in queues)):
        chosen.extend(q[turn] for q in queues if turn < len(q))
        if len(chosen) >= n:
            break
    return sorted(chosen[:n], key=lambda s: s.key)


def _make_dataset(name: str, root: Path, labelled: list[tuple[str, Path, ImageNetClass]], source: str) -> Dataset:
    """Build the Dataset from (key, path, class) triples; refuse an empty one."""
    if not labelled:
        suffixes = ", ".join(sorted(s.lstrip(".") for s in IMAGE_SUFFIXES))
        raise DatasetUnavailable(f"No images ({suffixes}) found in {root}.")
    wnids = sorted({cls.wnid for _, _, cls in labelled})
    position = {wnid: i for i, wnid in enumerate(wnids)}
    samples = sorted(
        (
            Sample(key, path, cls.wnid, cls.index, cls.name, position[cls.wnid], group_of(cls.index))
            for key, path, cls in labelled
        ),
        key=lambda s: s.key,
    )
    return Dataset(name=name, root=root, class_wnids=wnids, samples=samples, source=source)


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _class_of_folder(folder_name: str) -> ImageNetClass | None:
    """A class folder may be named by wnid or by ImageNet class name (any case, '_' for ' ')."""
    return by_wnid(folder_name) or by_name(folder_name)


def _unknown(offenders: list[str], what: str, hint: str) -> DatasetUnavailable:
    shown = ", ".join(repr(o) for o in offenders[:_SHOW_OFFENDERS])
    more = f" and {len(offenders) - _SHOW_OFFENDERS} more" if len(offenders) > _SHOW_OFFENDERS else ""
    return DatasetUnavailable(f"Unknown ImageNet {what}: {shown}{more}. {hint}")


# ---- folders -------------------------------------------------------------------------------------


def _from_folder(root: Path, *, name: str, source: str) -> Dataset:
    """ImageFolder layout (one subfolder per class) if any subfolder holds images, else flat files."""
    if not root.is_dir():
        raise DatasetUnavailable(
            f"No dataset folder at {root}. Use 'sample', 'imagenette', 'imagewoof' or the path of a folder "
            "of images (one subfolder per class, or files named <wnid>_*.jpg)."
        )
    class_dirs = sorted(
        d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".") and any(map(_is_image, d.rglob("*")))
    )
    labelled = _image_folder(root, class_dirs) if class_dirs else _flat_folder(root)
    return _make_dataset(name, root, labelled, source)


def _image_folder(root: Path, class_dirs: list[Path]) -> list[tuple[str, Path, ImageNetClass]]:
    """Subfolders named by wnid or class name; key = path relative to root without its suffix."""
    found = {d: _class_of_folder(d.name) for d in class_dirs}
    classes = {d: cls for d, cls in found.items() if cls is not None}
    unknown = [d.name for d in class_dirs if d not in classes]
    if unknown:
        raise _unknown(
            unknown,
            "class folder(s)",
            "Name each class folder by WordNet id (n01440764) or ImageNet class name (tench, great_white_shark).",
        )
    return [
        (path.relative_to(root).with_suffix("").as_posix(), path, cls)
        for folder, cls in classes.items()
        for path in sorted(folder.rglob("*"))
        if _is_image(path)
    ]


def _flat_folder(root: Path) -> list[tuple[str, Path, ImageNetClass]]:
    """Files named <wnid>_anything.ext; key = file stem."""
    images = sorted(p for p in root.iterdir() if _is_image(p))
    labelled, unknown = [], []
    for path in images:
        match = _WNID_PREFIX.match(path.name)
        cls = by_wnid(match.group(1)) if match else None
        if cls is None:
            unknown.append(path.name)
        else:
            labelled.append((path.stem, path, cls))
    if unknown:
        raise _unknown(
            unknown,
            "file name(s)",
            "Name flat files <wnid>_<anything>.jpg (n01440764_1.jpg) or put them in one subfolder per class.",
        )
    return labelled


# ---- Imagenette / Imagewoof ----------------------------------------------------------------------


def _from_fastai(
    spec: str, *, size: str, data_dir: Path | None, cache_dir: Path | None, progress: bool
) -> Dataset:
    """The val split of a fast.ai archive, from --data-dir or downloaded once into the cache."""
    if size not in FASTAI_SIZES:
        raise DatasetUnavailable(f"Unknown {spec} size {size!r}; choose one of {', '.join(FASTAI_SIZES)}.")
    stem = FASTAI_BASES[spec] + ("" if size == "full" else f"-{size}")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if data_dir is not None:
        root, source = _fastai_from_data_dir(Path(data_dir).expanduser(), stem, cache), str(data_dir)
    else:
        url = FASTAI_URL.format(stem=stem)
        root, source = _fastai_from_cache(url, stem, cache, progress), url
    val = root / "val"
    class_dirs = sorted(d for d in val.iterdir() if d.is_dir())
    return _make_dataset(spec, root, _wnid_folders(val, class_dirs), source)


def _fastai_from_cache(url: str, stem: str, cache: Path, progress: bool) -> Path:
    """Download (unless already there) and unpack (unless already done) the archive in the cache."""
    archive = cache / f"{stem}.tgz"
    if not archive.exists():
        download(url, archive, progress=progress)
    return _extracted_root(archive, cache / "extracted")


def _fastai_from_data_dir(data_dir: Path, stem: str, cache: Path) -> Path:
    """--data-dir may be the extracted folder, a folder holding it or the .tgz, or the .tgz itself."""
    for candidate in (data_dir, data_dir / stem):
        if (candidate / "val").is_dir():
            return candidate
    archive = data_dir if data_dir.is_file() else data_dir / f"{stem}.tgz"
    if archive.is_file():
        return _extracted_root(archive, cache / "extracted")
    raise DatasetUnavailable(
        f"--data-dir {data_dir} holds neither a val/ folder, nor {stem}/val/, nor {stem}.tgz. "
        f"Point it at the downloaded {stem}.tgz, the folder holding it, or the extracted {stem} folder."
    )


def _extracted_root(archive: Path, into: Path) -> Path:
    """Unpack into the cache and find the unpacked folder that holds val/."""
    extract_tgz(archive, into)
    name = archive.name.removesuffix(".tgz").removesuffix(".tar.gz")
    if (into / name / "val").is_dir():
        return into / name
    raise DatasetUnavailable(f"{archive} does not contain {name}/val/; is it an Imagenette or Imagewoof archive?")


def _wnid_folders(val: Path, class_dirs: list[Path]) -> list[tuple[str, Path, ImageNetClass]]:
    """val/<wnid>/<file>: key = '<wnid>/<file stem>'."""
    unknown = [d.name for d in class_dirs if by_wnid(d.name) is None]
    if unknown:
        raise _unknown(unknown, "class folder(s)", f"{val} does not look like an Imagenette/Imagewoof val split.")
    return [
        (f"{folder.name}/{path.stem}", path, by_wnid(folder.name))
        for folder in class_dirs
        for path in sorted(folder.iterdir())
        if _is_image(path)
    ]
