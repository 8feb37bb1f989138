"""Where things are for the tests: the checkout, the browser tests' screenshots and server logs, and the
environment variables that tell the app where its catalogs and caches are (named here and nowhere else
in tests/)."""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"  # screenshots and server logs of the browser tests (git-ignored)

CATALOG_DIR_ENV = "LAYERSCOPE_CATALOG_DIR"  # where Home, the Explorer and the scripts look for catalogs
ACTIVATION_CACHE_ENV = "LAYERSCOPE_ACTIVATION_CACHE"  # where the Explorer's gallery caches computed activations
DOWNLOAD_CACHE_ENV = "LAYERSCOPE_CACHE"  # where datasets are downloaded and unpacked
LAYER_CAM_CACHE_ENV = "LAYERSCOPE_LAYER_CAM_CACHE"  # where the Explain tab keeps layer CAMs and their scores
