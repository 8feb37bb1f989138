"""Size and write time of a catalog's tables under zstd alone and under `catalog.encoding`'s settings,
each streamed in the row groups the build writes (best of 3).

    python -m benchmarks.parquet_encoding CATALOG
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from catalog.encoding import parquet_options
from catalog.schema import TABLES


def measure(table, row_group: int, options: dict, file: Path) -> tuple[int, float]:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        with pq.ParquetWriter(file, table.schema, **options) as writer:
            for start in range(0, table.num_rows, row_group):
                writer.write_table(table.slice(start, row_group))
        best = min(best, time.perf_counter() - started)
    return file.stat().st_size, best


def main(catalog: Path) -> None:
    print("| table | zstd MB | zstd s | encoded MB | encoded s |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name in ("channels", "embeddings", "predictions"):
            source = pq.ParquetFile(catalog / f"{name}.parquet")
            table = source.read().cast(TABLES[name])
            row_group = source.metadata.row_group(0).num_rows
            plain = measure(table, row_group, {"compression": "zstd"}, Path(folder) / "plain.parquet")
            encoded = measure(table, row_group, parquet_options(table.schema), Path(folder) / "encoded.parquet")
            print(f"| {name} | {plain[0] / 1e6:.2f} | {plain[1]:.2f} | {encoded[0] / 1e6:.2f} | {encoded[1]:.2f} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
