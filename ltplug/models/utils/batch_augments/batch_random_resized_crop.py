# Copyright (c) ltplug contributors. All rights reserved.
import math
from typing import Dict, Sequence, Tuple, Union

import torch
from mmpretrain.registry import MODELS

from .base_batch_augment import BaseBatchAugment, check_size

from .geometric import resize_crop_bilinear


@MODELS.register_module()
class BatchRandomResizedCrop(BaseBatchAugment):
    """MMPretrain's ``RandomResizedCrop(scale, crop_ratio_range,
    aspect_ratio_range, max_attempts, interpolation='bilinear',
    backend='pillow')`` on a batch, one box per sample.

    The box follows ``rand_crop_params``: up to ``max_attempts`` draws of
    an area fraction (uniform in ``crop_ratio_range``) and a log-uniform
    aspect ratio, sides rounded; the first box that fits is placed at
    uniform offsets; none fits -> the centred fallback. The resize is
    Pillow's bilinear (see :func:`resize_crop_bilinear`): for a given box
    the output equals the per-sample op's. Only boxes no larger than the
    output are supported (CIFAR: 32 -> 32).

    Args:
        scale (int | Sequence[int]): Output ``(h, w)`` or one side.
        crop_ratio_range (tuple[float, float]): Area fraction range.
            Defaults to (0.08, 1.0).
        aspect_ratio_range (tuple[float, float]): Defaults to
            (3 / 4, 4 / 3).
        max_attempts (int): Defaults to 10.
    """

    repr_keys = ('scale', 'crop_ratio_range', 'aspect_ratio_range',
                 'max_attempts')

    def __init__(self,
                 scale: Union[int, Sequence[int]],
                 crop_ratio_range: Tuple[float, float] = (0.08, 1.0),
                 aspect_ratio_range: Tuple[float, float] = (3. / 4., 4. / 3.),
                 max_attempts: int = 10) -> None:
        for name, rng in (('crop_ratio_range', crop_ratio_range),
                          ('aspect_ratio_range', aspect_ratio_range)):
            if rng[0] > rng[1] or rng[0] <= 0:
                raise ValueError(f'BatchRandomResizedCrop: {name} must be '
                                 f'(min, max) > 0, but got {rng!r}')
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(f'BatchRandomResizedCrop: max_attempts must be '
                             f'an int >= 1, but got {max_attempts!r}')
        self.scale = check_size(self.__class__.__name__, 'scale', scale)
        self.crop_ratio_range = tuple(crop_ratio_range)
        self.aspect_ratio_range = tuple(aspect_ratio_range)
        self.max_attempts = max_attempts

    def _fallback(self, h: int, w: int) -> Tuple[int, int]:
        ratio = w / h
        lo, hi = min(self.aspect_ratio_range), max(self.aspect_ratio_range)
        if ratio < lo:
            return int(round(w / lo)), w
        if ratio > hi:
            return h, int(round(h * hi))
        return h, w

    def sample_params(self, imgs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Draw the boxes ``top`` / ``left`` / ``height`` / ``width``
        (``(N,)`` int64)."""
        n, _, h, w = imgs.shape
        dev, k = imgs.device, self.max_attempts
        lo, hi = self.crop_ratio_range
        area = (lo + (hi - lo) * torch.rand(n, k, device=dev,
                                            dtype=torch.float64)) * (h * w)
        llo, lhi = (math.log(r) for r in self.aspect_ratio_range)
        ratio = torch.exp(llo + (lhi - llo) * torch.rand(
            n, k, device=dev, dtype=torch.float64))
        tw = torch.round(torch.sqrt(area * ratio)).long()
        th = torch.round(torch.sqrt(area / ratio)).long()
        ok = (tw > 0) & (tw <= w) & (th > 0) & (th <= h)
        first = torch.where(ok, torch.arange(k, device=dev), k).amin(1)
        found = first < k
        pick = first.clamp(max=k - 1)[:, None]
        fh, fw = self._fallback(h, w)
        th = torch.where(found, th.gather(1, pick)[:, 0], fh)
        tw = torch.where(found, tw.gather(1, pick)[:, 0], fw)
        u = torch.rand(n, 2, device=dev, dtype=torch.float64)
        top = torch.where(found, (u[:, 0] * (h - th + 1)).long(),
                          (h - th) // 2)
        left = torch.where(found, (u[:, 1] * (w - tw + 1)).long(),
                           (w - tw) // 2)
        return dict(top=top, left=left, height=th, width=tw)

    def apply(self, imgs: torch.Tensor,
              params: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Crop the boxes and resize them to ``scale``."""
        return resize_crop_bilinear(imgs, params['top'], params['left'],
                                    params['height'], params['width'],
                                    *self.scale)
