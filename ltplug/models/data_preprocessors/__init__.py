# Copyright (c) ltplug contributors. All rights reserved.
from .batch_aug_data_preprocessor import BatchAugDataPreprocessor
from .decode_batch_aug_data_preprocessor import DecodeBatchAugDataPreprocessor

__all__ = ['BatchAugDataPreprocessor', 'DecodeBatchAugDataPreprocessor']
