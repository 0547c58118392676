# Copyright (c) ltplug contributors. All rights reserved.
from typing import Dict, Tuple

import torch
from mmpretrain.registry import MODELS

from .base_batch_augment import BaseBatchAugment, check_prob

from .geometric import apply_subset
from .photometric import pil_gaussian_blur


@MODELS.register_module()
class BatchGaussianBlur(BaseBatchAugment):
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

    repr_keys = ('magnitude_range', 'prob')

    def __init__(self,
                 magnitude_range: Tuple[float, float] = (0.1, 2.0),
                 prob: float = 0.5) -> None:
        lo, hi = magnitude_range
        if not 0 < lo <= hi:
            raise ValueError(f'BatchGaussianBlur: magnitude_range must be '
                             f'(min, max) with 0 < min <= max, but got '
                             f'{magnitude_range!r}')
        check_prob(self.__class__.__name__, prob)
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
