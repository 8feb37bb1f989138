"""The batch builder: a model and a dataset in, a complete catalog out.

It sits above `core/` (the computation) and `catalog/` (the files) and is the only package that uses
both; command lines (`scripts/`) and the app's owner-only build button call it.
"""
from builder.build import build_catalog
from builder.config import BuildConfig
from builder.progress import NoProgress, Progress, ProgressFactory

__all__ = ["build_catalog", "BuildConfig", "NoProgress", "Progress", "ProgressFactory"]
