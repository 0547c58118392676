# Copyright (c) ltplug contributors. All rights reserved.
from typing import Dict, Optional, Tuple

import torch
from mmpretrain.registry import MODELS

from .geometric import apply_subset
from .photometric import pil_gaussian_blur


@MODELS.register_module()
class BatchGaussianBlur:
    """MMPretrain's ``GaussianBlur(magnitude_range, magnitude_std='inf',
    prob)`` on a batch: each sample is blurred with probability ``prob``
    with its own radius uniform in ``magnitude_range``, by Pillow's
    ``ImageFilter.GaussianBlur`` algorithm (3 extended box blurs per axis,
    fixed point; see :func:`pil_gaussian_blur`).

    Args:
        magnitude_range (tuple[float, float]): Radius (sigma) range.
            Defaults to (0.1, 2.0).
        prob (float): Probability per sample. Defaults to 0.5.
    """

    def __init__(self,
                 magnitude_range: Tuple[float, float] = (0.1, 2.0),
                 prob: float = 0.5) -> None:
        lo, hi = magnitude_range
        if not 0 < lo <= hi:
            raise ValueError(f'BatchGaussianBlur: magnitude_range must be '
                             f'(min, max) with 0 < min <= max, but got '
                             f'{magnitude_range!r}')
        if not 0. <= prob <= 1.:
            raise ValueError(f'BatchGaussianBlur: prob must be in [0, 1], '
                             f'but got {prob!r}')
        self.magnitude_range = (float(lo), float(hi))
        self.prob = prob

    def sample_params(self, imgs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Draw ``apply`` (``(N,)`` bool) and ``sigma`` (``(N,)``)."""
        n, dev = imgs.shape[0], imgs.device
        lo, hi = self.magnitude_range
        return dict(
            apply=torch.rand(n, device=dev) < self.prob,
            sigma=lo + (hi - lo) * torch.rand(n, device=dev,
                                              dtype=torch.float64))

    def apply(self, imgs: torch.Tensor,
              params: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Blur the selected samples (in place)."""
        return apply_subset(imgs, params['apply'], pil_gaussian_blur,
                            params['sigma'])

    def __call__(self, imgs: torch.Tensor,
                 params: Optional[dict] = None) -> torch.Tensor:
        """Blur each sample with probability ``prob``."""
        return self.apply(imgs, params or self.sample_params(imgs))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(magnitude_range='
                f'{self.magnitude_range}, prob={self.prob})')
