# Copyright (c) ltplug contributors. All rights reserved.
from .logit_adjust import logit_adjust
from .moco import (KeyQueue, concat_all_gather, ema_update,
                   ema_update_tensors)
from .teacher import (build_frozen_model, drop_prefixed_keys, norm_signature,
                      set_requires_grad, teacher_model_cfg)

__all__ = [
    'logit_adjust', 'KeyQueue', 'concat_all_gather', 'ema_update',
    'ema_update_tensors',
    'build_frozen_model', 'set_requires_grad', 'teacher_model_cfg',
    'norm_signature', 'drop_prefixed_keys'
]
