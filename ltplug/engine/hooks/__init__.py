# Copyright (c) ltplug contributors. All rights reserved.
from .class_counts_hook import ClassCountsHook
from .invalid_loss_stop_hook import InvalidLossError, InvalidLossStopHook
from .num_classes_check_hook import (NumClassesCheckHook,
                                     NumClassesMismatchError)
from .rng_state_hook import RNGStateHook
from .test_progress_bar_hook import TestProgressBarHook

__all__ = [
    'ClassCountsHook', 'InvalidLossError', 'InvalidLossStopHook',
    'NumClassesCheckHook', 'NumClassesMismatchError', 'RNGStateHook',
    'TestProgressBarHook'
]
