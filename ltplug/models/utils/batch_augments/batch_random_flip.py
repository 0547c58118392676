# Copyright (c) ltplug contributors. All rights reserved.
from typing import Dict

import torch
from mmpretrain.registry import MODELS

from .base_batch_augment import BaseBatchAugment, check_prob


@MODELS.register_module()
class BatchRandomFlip(BaseBatchAugment):
    """MMPretrain's ``RandomFlip(prob, direction)`` on a batch: each sample
    is flipped with probability ``prob`` on its own draw (the output of a
    flipped sample equals ``np.flip``).

    Args:
        prob (float): Flip probability per sample. Defaults to 0.5.
        direction (str): ``'horizontal'`` or ``'vertical'``. Defaults to
            ``'horizontal'``.
    """

    repr_keys = ('prob', 'direction')

    def __init__(self, prob: float = 0.5,
                 direction: str = 'horizontal') -> None:
        check_prob(self.__class__.__name__, prob)
        if direction not in ('horizontal', 'vertical'):
            raise ValueError(f"BatchRandomFlip: direction must be "
                             f"'horizontal' or 'vertical', but got "
                             f"{direction!r}")
        self.prob = prob
        self.direction = direction

    def sample_params(self, imgs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Draw ``flip`` (``(N,)`` bool)."""
        return dict(flip=torch.rand(imgs.shape[0], device=imgs.device) <
                    self.prob)

    def apply(self, imgs: torch.Tensor,
              params: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Flip the samples whose ``flip`` is set."""
        dim = 3 if self.direction == 'horizontal' else 2
        return torch.where(params['flip'].view(-1, 1, 1, 1), imgs.flip(dim),
                           imgs)
