# Copyright (c) ltplug contributors. All rights reserved.
from .cosine_cls_head import CosineClsHead
from .lws_head import LWSHead

__all__ = ['CosineClsHead', 'LWSHead']
