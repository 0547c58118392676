# Copyright (c) ltplug contributors. All rights reserved.
from typing import Dict, Sequence

import torch
from mmpretrain.registry import MODELS

from .base_batch_augment import BaseBatchAugment, check_prob

from .photometric import weighted_gray


@MODELS.register_module()
class BatchRandomGrayscale(BaseBatchAugment):
    """MMPretrain's ``RandomGrayscale(prob, keep_channels=True,
    channel_weights)`` on a batch: each sample turns grey with probability
    ``prob`` (normalised weights, float64 sum, truncated: equal to the
    per-sample op).

    Args:
        prob (float): Probability per sample. Defaults to 0.1.
        channel_weights (Sequence[float]): Weights in the batch's channel
            order. Defaults to (0.2989, 0.587, 0.114) (RGB).
    """

    repr_keys = ('prob', 'channel_weights')

    def __init__(self,
                 prob: float = 0.1,
                 channel_weights: Sequence[float] = (0.2989, 0.587,
                                                     0.114)) -> None:
        check_prob(self.__class__.__name__, prob)
        if len(channel_weights) != 3 or sum(channel_weights) <= 0:
            raise ValueError(f'BatchRandomGrayscale: channel_weights must be '
                             f'3 weights with a positive sum, but got '
                             f'{channel_weights!r}')
        self.prob = prob
        self.channel_weights = tuple(channel_weights)

    def sample_params(self, imgs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Draw ``gray`` (``(N,)`` bool)."""
        return dict(gray=torch.rand(imgs.shape[0], device=imgs.device) <
                    self.prob)

    def apply(self, imgs: torch.Tensor,
              params: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Grey the selected samples."""
        return torch.where(params['gray'].view(-1, 1, 1, 1),
                           weighted_gray(imgs, self.channel_weights), imgs)
