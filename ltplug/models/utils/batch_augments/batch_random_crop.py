# Copyright (c) ltplug contributors. All rights reserved.
from typing import Dict, Sequence, Union

import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from .base_batch_augment import BaseBatchAugment, check_size

from .geometric import crop_batch


@MODELS.register_module()
class BatchRandomCrop(BaseBatchAugment):
    """MMPretrain's ``RandomCrop(crop_size, padding, pad_val)`` on a batch,
    one offset per sample.

    The batch is zero- (``pad_val``-) padded by ``padding`` on every side
    and each sample is cropped at its own ``(top, left)``, drawn uniformly
    from ``0 .. H + 2 * padding - crop_h`` (both ends included), as
    ``RandomCrop.rand_crop_params``. For a given offset the output equals
    the per-sample op's pixel for pixel.

    Args:
        crop_size (int | Sequence[int]): Output ``(h, w)`` or one side.
            Defaults to 32.
        padding (int): Constant padding on every side. Defaults to 0.
        pad_val (float): Padding value. Defaults to 0.
    """

    repr_keys = ('crop_size', 'padding', 'pad_val')

    def __init__(self,
                 crop_size: Union[int, Sequence[int]] = 32,
                 padding: int = 0,
                 pad_val: float = 0.) -> None:
        if not isinstance(padding, int) or padding < 0:
            raise ValueError(f'BatchRandomCrop: padding must be an int >= 0, '
                             f'but got {padding!r}')
        self.crop_size = check_size(self.__class__.__name__, 'crop_size',
                                    crop_size)
        self.padding = padding
        self.pad_val = pad_val

    def sample_params(self, imgs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Draw ``top`` / ``left`` (``(N,)`` int64) for the batch."""
        n, _, h, w = imgs.shape
        ch, cw = self.crop_size
        span_h, span_w = h + 2 * self.padding - ch, w + 2 * self.padding - cw
        if span_h < 0 or span_w < 0:
            raise ValueError(f'BatchRandomCrop: crop {self.crop_size} larger '
                             f'than the padded image ({h}, {w}) + '
                             f'{self.padding}')
        dev = imgs.device
        top = torch.randint(0, span_h + 1, (n, ), device=dev)
        left = torch.randint(0, span_w + 1, (n, ), device=dev)
        return dict(top=top, left=left)

    def apply(self, imgs: torch.Tensor,
              params: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Pad and crop at the given offsets."""
        if self.padding:
            imgs = F.pad(imgs, (self.padding, ) * 4, value=self.pad_val)
        return crop_batch(imgs, params['top'], params['left'],
                          *self.crop_size)
