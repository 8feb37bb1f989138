"""Where a table's rows and a layer's reference arrays lie in a catalog folder, whole or in parts.

A built catalog keeps each table in one file (`samples.parquet`) and each layer's reference in one
`.npz`. A published catalog must fit GitHub's file-size limits, so a large table may instead be a folder
of parts (`images/part-000.parquet`, ...) and a large reference may continue in
`layer_003.part-001.npz`, ... with long arrays cut along their first axis (`features@part000`, ...).
Readers go through these functions and never see the difference.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from catalog.schema import REFERENCE_DIR

PART_KEY = re.compile(r"^(?P<key>.+)@part(?P<index>\d{3})$")


def table_part_name(index: int) -> str:
    return f"part-{index:03d}.parquet"


def table_files(folder: Path, name: str) -> list[Path]:
    """`name.parquet` if there is one, else the parts in `name/` in order (or the missing single file)."""
    folder = Path(folder)
    single = folder / f"{name}.parquet"
    if single.is_file():
        return [single]
    parts = sorted((folder / name).glob("part-*.parquet"))
    return parts or [single]


def reference_file(folder: Path, layer_id: int, part: int = 0) -> Path:
    suffix = "" if part == 0 else f".part-{part:03d}"
    return Path(folder) / REFERENCE_DIR / f"layer_{layer_id:03d}{suffix}.npz"


def reference_layer_ids(folder: Path) -> list[int]:
    """The layers that have a reference (their first file)."""
    found = re.compile(r"^layer_(\d{3})\.npz$")
    return sorted(int(m.group(1)) for f in (Path(folder) / REFERENCE_DIR).glob("layer_*.npz")
                  if (m := found.match(f.name)))


def reference_files(folder: Path, layer_id: int) -> list[Path]:
    first = reference_file(folder, layer_id)
    rest = sorted(first.parent.glob(f"layer_{layer_id:03d}.part-*.npz"))
    return [first, *rest]


def split_key(key: str, index: int) -> str:
    return f"{key}@part{index:03d}"


def whole_key(key: str) -> str:
    """The array a stored key belongs to: `key@part001` -> `key`; a whole array's key as it is."""
    match = PART_KEY.match(key)
    return match["key"] if match else key


def join_parts(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Arrays stored in pieces (`key@part000`, `key@part001`, ...) joined back along the first axis."""
    whole: dict[str, np.ndarray] = {}
    pieces: dict[str, list[tuple[int, np.ndarray]]] = {}
    for key, array in arrays.items():
        match = PART_KEY.match(key)
        if match:
            pieces.setdefault(match["key"], []).append((int(match["index"]), array))
        else:
            whole[key] = array
    for key, parts in pieces.items():
        whole[key] = np.concatenate([array for _, array in sorted(parts, key=lambda p: p[0])])
    return whole
