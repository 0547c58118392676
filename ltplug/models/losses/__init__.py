# Copyright (c) ltplug contributors. All rights reserved.
from .balanced_softmax_loss import BalancedSoftmaxLoss

__all__ = ['BalancedSoftmaxLoss']
