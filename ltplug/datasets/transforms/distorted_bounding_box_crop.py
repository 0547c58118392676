# Copyright (c) ltplug contributors. All rights reserved.
import math
from typing import Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from .utils import check_positive_int


def _lrint(x: float) -> int:
    """C's lrintf: round half to even (Python's round)."""
    return int(round(x))


@TRANSFORMS.register_module()
class DistortedBoundingBoxCrop(BaseTransform):
    """Random crop drawn as TensorFlow's ``sample_distorted_bounding_box``,
    resized to a square (the CBD / Inception-style training crop).

    TensorFlow draws the crop differently from torchvision's / MMPretrain's
    ``RandomResizedCrop``: per attempt, the aspect ratio ``r = w / h`` is
    uniform (not log-uniform) in ``aspect_ratio_range`` and the crop
    **height** is a uniform integer between the heights that give the
    smallest and largest allowed area at that ratio (clipped to the image),
    so the area is not uniform: with ``area_range=(0.05, 1)`` the mean crop
    covers about a third of the image, against more than 0.4 for
    ``RandomResizedCrop``. The offsets are uniform; after
    ``max_attempts`` failed attempts the whole image is used (MMPretrain
    falls back to a centre crop). There is no object box here
    (``min_object_covered=0`` with the image as the box, as CBD's
    ``input_pipeline.py``), so every geometrically valid crop is kept.

    Args:
        scale (int | Sequence[int]): Output size ``(w, h)``, or one int for
            a square. Defaults to 224.
        area_range (Sequence[float]): Allowed crop area as a fraction of
            the image. Defaults to ``(0.05, 1.0)`` (CBD).
        aspect_ratio_range (Sequence[float]): Allowed ``w / h``. Defaults
            to TensorFlow's ``(0.75, 1.33)``.
        max_attempts (int): Defaults to 100 (TensorFlow's).
        interpolation (str): Resize interpolation. Defaults to
            ``'bilinear'`` (``tf.image.resize``'s default).
        backend (str): ``'cv2'`` (bilinear without anti-aliasing, as
            ``tf.image.resize(antialias=False)``) or ``'pillow'``.
            Defaults to ``'cv2'``.
    """

    def __init__(self,
                 scale: Union[int, Sequence[int]] = 224,
                 area_range: Sequence[float] = (0.05, 1.0),
                 aspect_ratio_range: Sequence[float] = (0.75, 1.33),
                 max_attempts: int = 100,
                 interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> None:
        if isinstance(scale, int):
            scale = (scale, scale)
        if len(scale) != 2 or min(scale) <= 0:
            raise ValueError(f'DistortedBoundingBoxCrop: scale must be a '
                             f'positive int or (w, h), but got {scale!r}')
        lo, hi = area_range
        if not 0. < lo <= hi <= 1.:
            raise ValueError(
                f'DistortedBoundingBoxCrop: area_range must satisfy '
                f'0 < min <= max <= 1, but got {tuple(area_range)!r}')
        rlo, rhi = aspect_ratio_range
        if not 0. < rlo <= rhi:
            raise ValueError(
                f'DistortedBoundingBoxCrop: aspect_ratio_range must satisfy '
                f'0 < min <= max, but got {tuple(aspect_ratio_range)!r}')
        check_positive_int('DistortedBoundingBoxCrop', 'max_attempts',
                           max_attempts)
        if backend not in ('cv2', 'pillow'):
            raise ValueError(f'DistortedBoundingBoxCrop: backend must be '
                             f"'cv2' or 'pillow', but got {backend!r}")
        self.scale = tuple(scale)
        self.area_range = (float(lo), float(hi))
        self.aspect_ratio_range = (float(rlo), float(rhi))
        self.max_attempts = max_attempts
        self.interpolation = interpolation
        self.backend = backend

    def _attempt(self, img_h: int, img_w: int,
                 ratio: float) -> Union[Tuple[int, int], None]:
        """One ``GenerateRandomCrop``: (height, width) or None."""
        min_area = self.area_range[0] * img_w * img_h
        max_area = self.area_range[1] * img_w * img_h
        height = _lrint(math.sqrt(min_area / ratio))
        max_height = _lrint(math.sqrt(max_area / ratio))
        if _lrint(max_height * ratio) > img_w:
            max_height = int((img_w + 0.5 - 1e-7) / ratio)
            if _lrint(max_height * ratio) > img_w:
                max_height -= 1
        max_height = min(max_height, img_h)
        height = min(height, max_height)
        if height < max_height:
            height += np.random.randint(max_height - height + 1)
        width = _lrint(height * ratio)
        area = width * height
        if area < min_area:
            height += 1
            width = _lrint(height * ratio)
            area = width * height
        if area > max_area:
            height -= 1
            width = _lrint(height * ratio)
            area = width * height
        if (area < min_area or area > max_area or width > img_w
                or height > img_h or width <= 0 or height <= 0):
            return None
        return height, width

    def sample_box(self, img_h: int, img_w: int) -> Tuple[int, int, int, int]:
        """A crop box ``(top, left, height, width)``."""
        for _ in range(self.max_attempts):
            ratio = np.random.uniform(*self.aspect_ratio_range)
            hw = self._attempt(img_h, img_w, ratio)
            if hw is None:
                continue
            h, w = hw
            top = np.random.randint(img_h - h) if h < img_h else 0
            left = np.random.randint(img_w - w) if w < img_w else 0
            return top, left, h, w
        return 0, 0, img_h, img_w

    def transform(self, results: dict) -> dict:
        """Crop ``results['img']`` and resize it to ``scale``."""
        img = results['img']
        top, left, h, w = self.sample_box(*img.shape[:2])
        img = img[top:top + h, left:left + w]
        img = mmcv.imresize(
            img,
            self.scale,
            interpolation=self.interpolation,
            backend=self.backend)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'area_range={self.area_range}, '
                f'aspect_ratio_range={self.aspect_ratio_range}, '
                f'max_attempts={self.max_attempts}, '
                f'interpolation={self.interpolation!r}, '
                f'backend={self.backend!r})')
