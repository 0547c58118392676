# Copyright (c) ltplug contributors. All rights reserved.
"""Batched, per-sample-random augmentations for the data preprocessor
(``BatchAugDataPreprocessor``): each op takes a float ``(N, C, H, W)``
batch of uint8 values on any device and draws its own parameters per
sample."""
from .batch_auto_augment import BatchAutoAugment
from .batch_clipped_cutout import BatchClippedCutout
from .batch_color_jitter import BatchColorJitter
from .batch_gaussian_blur import BatchGaussianBlur
from .batch_random_crop import BatchRandomCrop
from .batch_random_flip import BatchRandomFlip
from .batch_random_grayscale import BatchRandomGrayscale
from .batch_random_resized_crop import BatchRandomResizedCrop

__all__ = [
    'BatchAutoAugment', 'BatchClippedCutout', 'BatchColorJitter',
    'BatchGaussianBlur', 'BatchRandomCrop', 'BatchRandomFlip',
    'BatchRandomGrayscale', 'BatchRandomResizedCrop'
]
