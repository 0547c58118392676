# Copyright (c) ltplug contributors. All rights reserved.
from .balanced_softmax_loss import BalancedSoftmaxLoss
from .cosine_feature_distill_loss import CosineFeatureDistillLoss
from .kd_loss import KDLoss
from .label_aware_moco_loss import LabelAwareMoCoLoss
from .ncl_loss import NCLLoss

__all__ = [
    'BalancedSoftmaxLoss', 'CosineFeatureDistillLoss', 'KDLoss',
    'LabelAwareMoCoLoss', 'NCLLoss'
]
