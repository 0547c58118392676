# Copyright (c) ltplug contributors. All rights reserved.
from typing import Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from .utils import check_positive_int


@TRANSFORMS.register_module()
class ClippedCutout(BaseTransform):
    """Cutout (DeVries & Taylor 2017) as its reference code, which NCL /
    PaCo use: a square hole centred on a uniformly drawn pixel and clipped
    at the image border.

    A hole whose centre is near an edge is cut short there, so holes near
    the borders are smaller than ``length``. MMCV's ``cutout`` (behind
    MMPretrain's ``Cutout``) instead shifts such a hole inside the image
    at the top / left edges, keeping it whole, and clips only at the bottom
    / right.

    Args:
        length (int): Side of the square hole in pixels. Defaults to 16.
        n_holes (int): Number of holes. Defaults to 1.
        pad_val (int | Sequence[int]): Value written into the holes (the
            reference code multiplies the [0, 1] tensor by a 0/1 mask, i.e.
            0). Defaults to 0.
        prob (float): Probability of applying it. Defaults to 1.
    """

    def __init__(self,
                 length: int = 16,
                 n_holes: int = 1,
                 pad_val: Union[int, Sequence[int]] = 0,
                 prob: float = 1.) -> None:
        check_positive_int('ClippedCutout', 'length', length)
        check_positive_int('ClippedCutout', 'n_holes', n_holes)
        if not 0. <= prob <= 1.:
            raise ValueError(
                f'ClippedCutout: prob must be in [0, 1], but got {prob!r}')
        self.length = length
        self.n_holes = n_holes
        self.pad_val = pad_val
        self.prob = prob

    def transform(self, results: dict) -> dict:
        """Cut the holes out of ``results['img']``."""
        if np.random.rand() > self.prob:
            return results
        img = results['img'].copy()
        h, w = img.shape[:2]
        half = self.length // 2
        for _ in range(self.n_holes):
            y = np.random.randint(h)
            x = np.random.randint(w)
            y1, y2 = np.clip([y - half, y + half], 0, h)
            x1, x2 = np.clip([x - half, x + half], 0, w)
            img[y1:y2, x1:x2] = self.pad_val
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(length={self.length}, '
                f'n_holes={self.n_holes}, pad_val={self.pad_val}, '
                f'prob={self.prob})')
