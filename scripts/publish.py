"""`python -m scripts.publish CATALOG [--name NAME]`: copy a finished catalog into `published/` for a
public deployment (files under GitHub's limits, no paths of this machine), then say how to commit it."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from catalog.paths import REPO_ROOT
from catalog.publish import MAX_FILE_BYTES, Published, publish
from core.errors import LayerScopeError


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.publish", description=__doc__)
    parser.add_argument("catalog", type=Path, help="a finished catalog folder, e.g. catalogs/vgg16-imagenette-400")
    parser.add_argument("--name", help="the published folder's name (default: the catalog's)")
    parser.add_argument("--out", type=Path, help="where published catalogs live (default: published/)")
    parser.add_argument("--max-file-mb", type=float, default=MAX_FILE_BYTES / 1e6,
                        help="largest file allowed, in MB (default 50: GitHub warns above it)")
    parser.add_argument("--compact", action="store_true",
                        help="about half the size, with the precision no view shows dropped: channel statistics "
                             "to float16 precision, guided pictures as WebP 75, PCA bases as float16 "
                             "(catalog/compact.py)")
    args = parser.parse_args(argv)
    try:
        result = publish(args.catalog, name=args.name, root=args.out, max_file_bytes=int(args.max_file_mb * 1e6),
                         compact=args.compact)
    except LayerScopeError as exc:
        sys.exit(f"error: {exc}")
    report(result)


def report(result: Published) -> None:
    """The published folder's size and the git commands that make a deployment serve it."""
    largest, largest_size = result.largest
    print(f"published {result.path}: {len(result.files)} files, {_mb(result.total_bytes)} in all, "
          f"largest {largest} ({_mb(largest_size)})")
    try:
        shown = result.path.relative_to(REPO_ROOT)
    except ValueError:
        shown = result.path
    print("Commit it (the deployment serves what is committed):\n"
          f"  git add {shown}\n"
          f"  git commit -m 'Publish catalog {result.path.name}'\n"
          "  git push")


if __name__ == "__main__":
    main()
