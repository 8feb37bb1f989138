"""The inspectable layer graph, traced from the model with one dummy forward (never hand-written).

A layer is a child module reached by descending through plain containers (`nn.Sequential`,
`nn.ModuleList`): VGG's `features` open up into its 13 convs, 13 ReLUs and 5 pools, while a residual
block (ResNet's BasicBlock, EfficientNet's InvertedResidual) stays one `block`, since its output only
exists as a whole. The graph starts with the input image and ends with the class probabilities.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from math import prod

import torch
from torch import nn

from core.forward import hooked_forward
from core.models import LoadedModel

_KINDS: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("conv", (nn.Conv1d, nn.Conv2d, nn.Conv3d)),
    ("relu", (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU)),
    ("act", (nn.SiLU, nn.GELU, nn.Hardswish, nn.Sigmoid, nn.Tanh, nn.ELU, nn.Mish, nn.Hardsigmoid)),
    ("pool", (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)),
    ("dense", (nn.Linear,)),
    ("norm", (nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)),
    ("dropout", (nn.Dropout, nn.Dropout2d)),
    ("flatten", (nn.Flatten,)),
    ("identity", (nn.Identity,)),
)
IDENTITY_IN_EVAL = {"dropout", "identity"}
_CONTAINERS = (nn.Sequential, nn.ModuleList)


@dataclass(frozen=True)
class LayerInfo:
    layer_id: int
    name: str  # module path, or "input" / "output"
    kind: str
    shape: tuple[int, ...]  # per sample: (C, H, W) for maps, (F,) for vectors
    params: int
    module_type: str
    identity: bool = False  # the layer passes its input through unchanged in eval mode

    @property
    def position(self) -> int:
        return self.layer_id

    @property
    def is_map(self) -> bool:
        """Conv-type: a (C, H, W) map with channels to score and show as thumbnails."""
        return len(self.shape) == 3

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def height(self) -> int:
        return self.shape[1] if self.is_map else 1

    @property
    def width(self) -> int:
        return self.shape[2] if self.is_map else 1

    @property
    def size(self) -> int:
        return prod(self.shape)

    def as_row(self) -> dict:
        row = asdict(self)
        row.update(position=self.position, channels=self.channels, height=self.height,
                   width=self.width, shape=list(self.shape))
        return row


def kind_of(module: nn.Module) -> str:
    """Classify by type, so timm's subclasses (Conv2dSame, BatchNormAct2d) fall in the right kind."""
    for kind, types in _KINDS:
        if isinstance(module, types):
            return kind
    if "pool" in type(module).__name__.lower():  # e.g. timm's SelectAdaptivePool2d
        return "pool"
    return "block"


def candidate_modules(model: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    """Children, descending through plain containers, in registration order."""
    found = []
    for name, child in model.named_children():
        path = f"{prefix}{name}"
        if isinstance(child, _CONTAINERS):
            found.extend(candidate_modules(child, prefix=f"{path}."))
        else:
            found.append((path, child))
    return found


def trace_layers(model: nn.Module, input_size: int) -> tuple[list[LayerInfo], dict[str, nn.Module]]:
    """Run one dummy forward and return the layers in execution order, and their modules by name.

    Modules never called are left out; a module called twice (a shared ReLU) counts at its first call.
    The dummy input is random, so a layer whose output equals its input (dropout in eval, VGG's 7x7
    average pool on a 7x7 map) is found by looking, and marked as an identity.
    """
    candidates = candidate_modules(model)
    seen: dict[str, tuple[int, ...]] = {}
    passes_through: set[str] = set()

    def remember(name: str):
        def hook(_module, inputs, output):
            if name not in seen and isinstance(output, torch.Tensor):
                seen[name] = tuple(output.shape[1:])
                first = inputs[0] if inputs else None
                if isinstance(first, torch.Tensor) and torch.equal(first, output):
                    passes_through.add(name)
        return hook

    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(0)
    dummy = torch.randn(1, 3, input_size, input_size, generator=generator).to(device)
    out = hooked_forward(model, dummy, [(module, remember(name)) for name, module in candidates])

    modules = dict(candidates)
    layers = [LayerInfo(0, "input", "input", (3, input_size, input_size), 0, "Tensor")]
    for name in seen:  # dict order is the order of first calls
        module = modules[name]
        kind = kind_of(module)
        layers.append(LayerInfo(len(layers), name, kind, seen[name],
                                sum(p.numel() for p in module.parameters()),
                                type(module).__name__,
                                identity=kind in IDENTITY_IN_EVAL or name in passes_through))
    layers.append(LayerInfo(len(layers), "output", "output", tuple(out.shape[1:]), 0, "Softmax"))
    return layers, {name: modules[name] for name in seen}


@dataclass(frozen=True, eq=False)
class TracedModel:
    """A loaded model with its traced layer graph: what a forward that reads every layer needs."""

    loaded: LoadedModel
    layers: list[LayerInfo]  # in execution order, input first and output last
    modules: dict[str, nn.Module]  # layer name -> the module to hook

    @classmethod
    def trace(cls, loaded: LoadedModel) -> TracedModel:
        """One dummy forward at the input size the model's preprocessing crops to."""
        layers, modules = trace_layers(loaded.model, loaded.preprocess.crop)
        return cls(loaded, layers, modules)
