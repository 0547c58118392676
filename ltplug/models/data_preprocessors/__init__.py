# Copyright (c) ltplug contributors. All rights reserved.
from .batch_aug_data_preprocessor import BatchAugDataPreprocessor

__all__ = ['BatchAugDataPreprocessor']
