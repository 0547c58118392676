# Copyright (c) ltplug contributors. All rights reserved.
from typing import Dict

import torch
from mmpretrain.registry import MODELS

from .base_batch_augment import BaseBatchAugment, check_prob


@MODELS.register_module()
class BatchClippedCutout(BaseBatchAugment):
    """ltplug's ``ClippedCutout`` (the reference Cutout that NCL / PaCo use)
    on a batch: per sample and hole, a centre ``(y, x)`` drawn uniformly
    over the pixels and a ``length`` square ``[y - length // 2,
    y + length // 2)`` clipped at the border, filled with ``pad_val``.
    For given centres the output equals the per-sample op's.

    Args:
        length (int): Side of the hole. Defaults to 16.
        n_holes (int): Holes per sample. Defaults to 1.
        pad_val (float): Fill value. Defaults to 0.
        prob (float): Probability per sample. Defaults to 1.
    """

    repr_keys = ('length', 'n_holes', 'pad_val', 'prob')

    def __init__(self,
                 length: int = 16,
                 n_holes: int = 1,
                 pad_val: float = 0.,
                 prob: float = 1.) -> None:
        if not isinstance(length, int) or length <= 0:
            raise ValueError(f'BatchClippedCutout: length must be a positive '
                             f'int, but got {length!r}')
        if not isinstance(n_holes, int) or n_holes <= 0:
            raise ValueError(f'BatchClippedCutout: n_holes must be a '
                             f'positive int, but got {n_holes!r}')
        check_prob(self.__class__.__name__, prob)
        self.length = length
        self.n_holes = n_holes
        self.pad_val = pad_val
        self.prob = prob

    def sample_params(self, imgs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Draw ``apply`` (``(N,)`` bool) and the centres ``cy`` / ``cx``
        (``(N, n_holes)`` int64)."""
        n, _, h, w = imgs.shape
        dev = imgs.device
        return dict(
            apply=torch.rand(n, device=dev) < self.prob,
            cy=torch.randint(0, h, (n, self.n_holes), device=dev),
            cx=torch.randint(0, w, (n, self.n_holes), device=dev))

    def apply(self, imgs: torch.Tensor,
              params: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Cut the holes at the given centres."""
        _, _, h, w = imgs.shape
        dev = imgs.device
        half = self.length // 2
        ys = torch.arange(h, device=dev).view(1, 1, h, 1)
        xs = torch.arange(w, device=dev).view(1, 1, 1, w)
        hole = torch.zeros(imgs.shape[0], 1, h, w, dtype=torch.bool,
                           device=dev)
        for k in range(params['cy'].shape[1]):
            cy = params['cy'][:, k].view(-1, 1, 1, 1)
            cx = params['cx'][:, k].view(-1, 1, 1, 1)
            hole |= ((ys >= cy - half) & (ys < cy + half) &
                     (xs >= cx - half) & (xs < cx + half))
        hole &= params['apply'].view(-1, 1, 1, 1)
        return imgs.masked_fill(hole, self.pad_val)
