# Copyright (c) ltplug contributors. All rights reserved.
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS

from ltplug.utils.validate import check_bool

from .utils import FC_INIT, check_head_size


@MODELS.register_module()
class LWSHead(ClsHead):
    """Learnable weight scaling (Kang et al., ICLR 2020):
    ``logits = s * (W f + b)``.

    ``W`` and ``b`` (``fc``, the same keys as ``LinearClsHead`` so a
    stage-one checkpoint loads into it) are frozen; only the per-class scale
    ``s`` (initialised to 1) is trained. SSD's soft-label generator (stage
    II) is this head on top of the stage-I linear classifier.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Feature width.
        freeze_fc (bool): Freeze ``fc``. Defaults to True.
        init_cfg (dict, optional): Weight init of ``fc``. Defaults to
            ``dict(type='Normal', layer='Linear', std=0.01)``.
        **kwargs: Other arguments of :class:`mmpretrain.models.ClsHead`.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 freeze_fc: bool = True,
                 init_cfg: Optional[dict] = FC_INIT,
                 **kwargs) -> None:
        owner = type(self).__name__
        num_classes, in_channels = check_head_size(owner, num_classes,
                                                   in_channels)
        freeze_fc = check_bool('freeze_fc', freeze_fc, owner=owner)
        super().__init__(init_cfg=init_cfg, **kwargs)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.fc = nn.Linear(in_channels, num_classes)
        self.scales = nn.Parameter(torch.ones(num_classes))
        self.freeze_fc = freeze_fc
        if freeze_fc:
            for p in self.fc.parameters():
                p.requires_grad = False

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The last-stage feature."""
        return feats[-1]

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Scaled linear logits."""
        return self.scales * self.fc(self.pre_logits(feats))
