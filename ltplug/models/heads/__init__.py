# Copyright (c) ltplug contributors. All rights reserved.
from .cosine_cls_head import CosineClsHead
from .lws_head import LWSHead
from .tau_norm_cls_head import TauNormClsHead

__all__ = ['CosineClsHead', 'LWSHead', 'TauNormClsHead']
