"""Errors a user can cause. Each message names the way out; command lines print it without a traceback."""


class LayerScopeError(Exception):
    """Base class for problems caused by input, configuration or the environment (not bugs)."""


class WeightsUnavailable(LayerScopeError):
    """Pretrained weights cannot be loaded (offline, missing file, wrong architecture)."""


class DatasetUnavailable(LayerScopeError):
    """A dataset cannot be found, downloaded or read."""


class BadImage(LayerScopeError):
    """One image file cannot be used; `reason` is a short phrase for the build summary."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class CatalogError(LayerScopeError):
    """A catalog is missing, incomplete or of an unknown schema version."""
