"""`python -m scripts.publish_demo [CATALOG]`: (re)make `published/efficientnet_lite0-sample`, the demo a
fork deploys as is: build the bundled sample (a few minutes on 2 cores) or take a finished build of it,
and publish it compactly in place of the previous demo."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from builder.demo import publish_demo
from catalog.writer import describe_os_error
from core.errors import LayerScopeError
from scripts.build_catalog import TerminalProgress
from scripts.publish import report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.publish_demo", description=__doc__)
    parser.add_argument("catalog", type=Path, nargs="?",
                        help="a finished build of the bundled sample (default: build one in a temporary folder)")
    parser.add_argument("--out", type=Path, help="where published catalogs live (default: published/)")
    args = parser.parse_args(argv)
    try:
        result = publish_demo(args.catalog, root=args.out, progress=TerminalProgress, log=print)
    except LayerScopeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {describe_os_error(exc, args.out or Path('published'))}", file=sys.stderr)
        return 2
    report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
