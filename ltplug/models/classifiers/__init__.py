# Copyright (c) ltplug contributors. All rights reserved.
from .ncl_multi_expert_classifier import NCLMultiExpertClassifier

__all__ = ['NCLMultiExpertClassifier']
