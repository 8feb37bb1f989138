"""How every catalog table is encoded in Parquet, for the writer and for publishing alike."""
from __future__ import annotations

import pyarrow as pa


def parquet_options(schema: pa.Schema, zstd_level: int | None = None) -> dict:
    """Lossless settings for pq.write_table / pq.ParquetWriter: zstd; float columns byte-stream-split,
    so their exponent bytes line up for zstd (a dictionary of distinct floats only adds bytes); every
    other column dictionary-encoded. On the bundled sample's channel statistics this is 28 % smaller
    and twice as fast to write as zstd alone (docs/PERFORMANCE.md, "Parquet encoding")."""
    floats = [f.name for f in schema if pa.types.is_floating(f.type)]
    options = {"compression": "zstd", "use_dictionary": [f.name for f in schema if f.name not in floats],
               "use_byte_stream_split": floats or False}
    if zstd_level is not None:
        options["compression_level"] = zstd_level
    return options
