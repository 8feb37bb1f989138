"""Rebuild data/sample/: the bundled offline dataset, a deterministic half of the shared ImageNet sample.

Usage: python -m scripts.make_sample [SOURCE_DIR]   (default ../shared/data/imagenet-sample)

Takes every 2nd usable image in sorted order: 400 files from 800, spread evenly over the class
index order and therefore over every coarse group.
"""

import shutil
import sys
from pathlib import Path

from core.datasets import SAMPLE_DIR
from core.errors import BadImage
from core.images import load_rgb

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "imagenet-sample"
STEP = 2
MAX_BYTES = 12_000_000


def usable(path: Path) -> bool:
    """Only images LayerScope would load: the sample should never show a skipped file."""
    try:
        load_rgb(path)
    except BadImage:
        return False
    return True


def main(source: Path) -> None:
    images = [p for p in sorted(source.glob("n*_*.jpg")) if usable(p)]
    chosen = images[::STEP]
    SAMPLE_DIR.mkdir(parents=True, exist_ok=True)
    for old in SAMPLE_DIR.glob("*.jpg"):
        old.unlink()
    for path in chosen:
        shutil.copy2(path, SAMPLE_DIR / path.name)
    total = sum(p.stat().st_size for p in SAMPLE_DIR.glob("*.jpg"))
    print(f"copied {len(chosen)} of {len(images)} images, {total / 1e6:.1f} MB, into {SAMPLE_DIR}")
    if total > MAX_BYTES:
        sys.exit(f"sample is {total} bytes, over the {MAX_BYTES} budget")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)
