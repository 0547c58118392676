# Copyright (c) ltplug contributors. All rights reserved.
from .cbd_distiller import CBDDistiller
from .ncl_multi_expert_classifier import NCLMultiExpertClassifier

__all__ = ['CBDDistiller', 'NCLMultiExpertClassifier']
