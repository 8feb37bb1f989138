"""The catalog's tables: one Parquet file each, described here once for the writer and the reader."""
from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 4  # a catalog of another version is refused with the command that rebuilds it
MANIFEST = "manifest.json"
REFERENCE_DIR = "reference"  # per-layer PCA basis and t-SNE reference (.npz), for placing new images

TABLES: dict[str, pa.Schema] = {
    "samples": pa.schema([
        ("sample_id", pa.int32()), ("key", pa.string()), ("wnid", pa.string()),
        ("label_idx", pa.int32()), ("label_name", pa.string()), ("group_name", pa.string()),
        ("dataset_class", pa.int32()), ("path", pa.string()),
    ]),
    "predictions": pa.schema([
        ("sample_id", pa.int32()), ("rank", pa.int8()), ("class_idx", pa.int32()),
        ("class_name", pa.string()), ("prob", pa.float32()),
    ]),
    "layers": pa.schema([
        ("layer_id", pa.int32()), ("position", pa.int32()), ("name", pa.string()), ("kind", pa.string()),
        ("channels", pa.int32()), ("height", pa.int32()), ("width", pa.int32()),
        ("params", pa.int64()), ("module_type", pa.string()), ("identity", pa.bool_()),
        ("reduction_dim", pa.int32()), ("pca_components", pa.int32()), ("pca_variance", pa.float32()),
    ]),
    "embeddings": pa.schema([
        ("sample_id", pa.int32()), ("layer_id", pa.int32()), ("method", pa.string()),
        ("perplexity", pa.float32()), ("perplexity_requested", pa.float32()),
        ("x", pa.float32()), ("y", pa.float32()),
    ]),
    "channels": pa.schema([
        ("sample_id", pa.int32()), ("layer_id", pa.int32()), ("channel", pa.int32()),
        ("mean", pa.float32()), ("entropy", pa.float32()), ("score", pa.float32()),
    ]),
    "explanations": pa.schema([
        ("sample_id", pa.int32()), ("class_idx", pa.int32()), ("gradcam", pa.binary()),
        ("guided", pa.binary()), ("guided_gradcam", pa.binary()),
    ]),
    "images": pa.schema([("sample_id", pa.int32()), ("image", pa.binary())]),
    "separability": pa.schema([
        ("layer_id", pa.int32()), ("k", pa.int32()), ("knn_accuracy", pa.float32()),
        ("knn_accuracy_group", pa.float32()),
    ]),
    "trajectories": pa.schema([
        ("sample_id", pa.int32()), ("layer_id", pa.int32()), ("vote_class", pa.int32()),
        ("vote_class_share", pa.float32()), ("vote_group", pa.string()), ("vote_group_share", pa.float32()),
    ]),
    "settling": pa.schema([
        ("sample_id", pa.int32()), ("level", pa.string()), ("correct", pa.bool_()),
        ("settled_layer", pa.int32()), ("lost_layer", pa.int32()),
    ]),
    "layer_similarity": pa.schema([("layer_a", pa.int32()), ("layer_b", pa.int32()), ("cka", pa.float32())]),
    # `python -m scripts.build_catalog --faithfulness N`: one row per sample, layer, explanation method
    # (`random`: the blind baseline map) and metric; every value is oriented so that higher means more
    # faithful (core/faithfulness.py says how each metric is turned)
    "faithfulness": pa.schema([
        ("sample_id", pa.int32()), ("layer_id", pa.int32()), ("method", pa.string()), ("metric", pa.string()),
        ("value", pa.float32()),
    ]),
    # the pictures on the maps: a small WebP per sample, and each map's named clusters and their members
    "thumbnails": pa.schema([("sample_id", pa.int32()), ("thumb", pa.binary())]),
    "clusters": pa.schema([
        ("layer_id", pa.int32()), ("method", pa.string()), ("perplexity", pa.float32()), ("cluster", pa.int32()),
        ("label", pa.string()), ("purity", pa.float32()), ("size", pa.int32()), ("x", pa.float32()),
        ("y", pa.float32()),
    ]),
    "cluster_members": pa.schema([
        ("sample_id", pa.int32()), ("layer_id", pa.int32()), ("method", pa.string()),
        ("perplexity", pa.float32()), ("cluster", pa.int32()),
    ]),
    "skipped": pa.schema([("key", pa.string()), ("path", pa.string()), ("reason", pa.string())]),
}
