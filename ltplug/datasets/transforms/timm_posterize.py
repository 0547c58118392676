# Copyright (c) ltplug contributors. All rights reserved.
import math

import mmcv
from mmpretrain.datasets.transforms import Posterize
from mmpretrain.registry import TRANSFORMS

from .utils import check_choice

ROUNDINGS = ('floor', 'ceil')


@TRANSFORMS.register_module()
class TimmPosterize(Posterize):
    """``Posterize`` whose bit count from a magnitude is rounded down, as
    timm's RandAugment (``int(level / 10 * 4)``; the copy NCL ships).

    MMPretrain's ``Posterize`` rounds the magnitude up (``ceil``). With
    RandAugment's ``magnitude_level=10, magnitude_std=0.5`` the level is
    N(10, 0.5) clipped to [0, 10]: timm keeps 3 bits unless the level was
    clipped to exactly 10 (about half the time: 4 bits), MMPretrain keeps 4
    bits almost always.

    Args:
        rounding (str): ``'floor'`` (timm / the official NCL code) or
            ``'ceil'`` (MMPretrain's ``Posterize``). Defaults to
            ``'floor'``.
        **kwargs: Arguments of :class:`mmpretrain.datasets.transforms.
            Posterize` (``bits`` or ``magnitude_range``, ``prob``, ...).
    """

    def __init__(self, rounding: str = 'floor', **kwargs) -> None:
        check_choice('TimmPosterize', 'rounding', rounding, ROUNDINGS)
        super().__init__(**kwargs)
        self.rounding = rounding

    def transform(self, results: dict) -> dict:
        """Posterize ``results['img']``."""
        if self.random_disable():
            return results
        bits = self.bits if self.bits is not None else \
            self.random_magnitude()
        bits = math.floor(bits) if self.rounding == 'floor' else \
            math.ceil(bits)
        img = results['img']
        results['img'] = mmcv.posterize(img, bits=bits).astype(img.dtype)
        return results

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', rounding={self.rounding!r})'
