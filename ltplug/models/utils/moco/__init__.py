# Copyright (c) ltplug contributors. All rights reserved.
"""The one MoCo of ltplug, shared by SSD stage I (one key encoder, a
label-aware queue) and NCL (one key encoder and queue per expert).

Everything MoCo-specific lives here: the projection MLP, the EMA key
encoder (one fused update, :func:`ema_update`), the key forward with
shuffle-BN (:func:`shuffled_keys`), the all-gather of keys
(:func:`concat_all_gather`), the queue with its labels and device-side
pointer (:class:`KeyQueue`), the InfoNCE and label-aware InfoNCE losses
(:func:`info_nce`, :func:`label_aware_info_nce`) and NCL's
official / corrected switch (:data:`MOCO_MODES`). The classifiers only
say which modules pair up and how their features are read.
"""
from .config import MOCO_MODES, check_moco_cfg
from .ema import (copy_online_to_ema, ema_update, ema_update_pairs,
                  ema_update_tensors)
from .encoder import first_view, projection_mlp, shuffled_keys
from .losses import info_nce, label_aware_info_nce
from .queue import KeyQueue, concat_all_gather

__all__ = ['MOCO_MODES', 'check_moco_cfg', 'ema_update', 'ema_update_pairs',
           'ema_update_tensors', 'first_view',
           'copy_online_to_ema', 'projection_mlp', 'shuffled_keys',
           'concat_all_gather', 'KeyQueue', 'info_nce',
           'label_aware_info_nce']
