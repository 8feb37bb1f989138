"""Compare two catalogs' layers on the images they share: python -m scripts.compare_models A B [--out FILE].

Prints how many samples matched by key and, for each layer of A, the layer of B whose representation is
most alike (linear CKA); --out writes the whole matrix as Parquet (layer_a, name_a, layer_b, name_b, cka).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from catalog.compare import compare_catalogs
from core.errors import LayerScopeError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.compare_models", description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="a catalog folder")
    parser.add_argument("b", type=Path, help="another catalog folder (of the same images)")
    parser.add_argument("--out", type=Path, default=None, help="write the CKA matrix to this Parquet file")
    args = parser.parse_args(argv)
    try:
        comparison = compare_catalogs(args.a, args.b)
        if args.out is not None:
            comparison.frame().to_parquet(args.out, index=False)
    except LayerScopeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.strerror or exc} ({exc.filename or args.out})", file=sys.stderr)
        return 2
    print(f"matched {comparison.matched} samples by key ({args.a.name}: {comparison.n_a}, "
          f"{args.b.name}: {comparison.n_b})")
    width = max(len(name) for name in comparison.layers_a["name"])
    for row in comparison.best_matches().itertuples():
        print(f"{row.name_a:<{width}}  ->  {row.name_b}  (CKA {row.cka:.3f})")
    if args.out is not None:
        print(f"wrote {len(comparison.layers_a)} x {len(comparison.layers_b)} CKA matrix to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
