"""Preprocessing that travels with a model's weights (as torchvision's weight enums do)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocess:
    """Resize the short side, centre-crop a square, scale to [0, 1] and normalise."""

    resize: int = 256
    crop: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: str = "bilinear"

    def view(self, image: Image.Image) -> Image.Image:
        """The RGB crop the model sees, before normalisation: what the inspector shows under its maps."""
        mode = InterpolationMode(self.interpolation)
        image = F.resize(image, self.resize, interpolation=mode, antialias=True)
        return F.center_crop(image, [self.crop, self.crop])

    def normalize(self, view: Image.Image) -> torch.Tensor:
        return F.normalize(F.to_tensor(view), list(self.mean), list(self.std))

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return self.normalize(self.view(image))

    def as_dict(self) -> dict:
        return {"resize": self.resize, "crop": self.crop, "mean": list(self.mean),
                "std": list(self.std), "interpolation": self.interpolation}
