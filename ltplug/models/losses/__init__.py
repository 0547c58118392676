# Copyright (c) ltplug contributors. All rights reserved.
from .balanced_softmax_loss import BalancedSoftmaxLoss
from .cosine_feature_distill_loss import CosineFeatureDistillLoss
from .ncl_loss import NCLLoss

__all__ = ['BalancedSoftmaxLoss', 'CosineFeatureDistillLoss', 'NCLLoss']
