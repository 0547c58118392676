# Copyright (c) ltplug contributors. All rights reserved.
from .base_lt_sampler import BaseLTSampler
from .class_aware_sampler import ClassAwareSampler
from .class_balanced_resample_sampler import ClassBalancedResampleSampler
from .progressively_balanced_sampler import ProgressivelyBalancedSampler
from .square_root_sampler import SquareRootSampler

__all__ = [
    'BaseLTSampler', 'ClassAwareSampler', 'ClassBalancedResampleSampler',
    'ProgressivelyBalancedSampler', 'SquareRootSampler'
]
