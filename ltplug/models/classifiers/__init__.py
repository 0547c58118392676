# Copyright (c) ltplug contributors. All rights reserved.
from .base_distiller import BaseDistiller
from .cbd_distiller import CBDDistiller
from .ensemble_distiller import EnsembleDistiller
from .ncl_multi_expert_classifier import NCLMultiExpertClassifier
from .ssd_distiller import SSDDistiller
from .ssd_lws_classifier import SSDLWSClassifier, load_stage_weights
from .ssd_moco_classifier import SSDMoCoClassifier, ssd_queue_size

__all__ = [
    'BaseDistiller', 'CBDDistiller', 'EnsembleDistiller',
    'NCLMultiExpertClassifier',
    'SSDDistiller', 'SSDLWSClassifier', 'SSDMoCoClassifier',
    'load_stage_weights', 'ssd_queue_size'
]
