# Copyright (c) ltplug contributors. All rights reserved.
from .balanced_softmax_loss import BalancedSoftmaxLoss
from .ncl_loss import NCLLoss

__all__ = ['BalancedSoftmaxLoss', 'NCLLoss']
