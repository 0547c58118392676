# Copyright (c) ltplug contributors. All rights reserved.
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS

from ltplug.models.utils.logit_adjust import l2_normalize
from ltplug.utils.validate import check_bool, check_number

from .utils import FC_INIT, check_head_size


@MODELS.register_module()
class CosineClsHead(ClsHead):
    """Cosine classifier: ``scale * <f / |f|, w_c / |w_c|> (+ b_c)``.

    CBD uses it with ``scale=20`` fixed and no bias; NCL with ``scale=16``
    (ImageNet-LT, Places-LT) or 32 (iNaturalist 2018) and a learnable bias
    initialised to 0.

    Mixed precision: the feature and weight norms are taken in fp32
    (:func:`ltplug.models.utils.logit_adjust.l2_normalize`) and the
    normalised vectors cast back to their dtype, so ``eps`` (0 in fp16 for
    the default 1e-12) never meets a low-precision zero norm: a zero
    feature (or weight row) gives zero logits (plus the bias), not NaN.
    In fp16 the norm is bounded below by fp16's smallest normal number.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Feature width.
        scale (float): The scale sigma. Defaults to 16.
        learnable_scale (bool): Learn the scale. Defaults to False.
        bias (bool): Add a learnable per-class bias (init 0).
            Defaults to False.
        eps (float): Lower bound of the L2 norms (> 0), applied in fp32.
            Defaults to 1e-12.
        init_cfg (dict, optional): Weight init. Defaults to
            ``dict(type='Normal', layer='Linear', std=0.01)``.
        **kwargs: Other arguments of :class:`mmpretrain.models.ClsHead`
            (``loss``, ``topk``, ``cal_acc``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 scale: float = 16.,
                 learnable_scale: bool = False,
                 bias: bool = False,
                 eps: float = 1e-12,
                 init_cfg: Optional[dict] = FC_INIT,
                 **kwargs) -> None:
        owner = type(self).__name__
        num_classes, in_channels = check_head_size(owner, num_classes,
                                                   in_channels)
        scale = check_number('scale', scale, min=0, min_inclusive=False,
                             owner=owner)
        eps = check_number('eps', eps, min=0, min_inclusive=False,
                           owner=owner)
        learnable_scale = check_bool('learnable_scale', learnable_scale,
                                     owner=owner)
        bias = check_bool('bias', bias, owner=owner)
        super().__init__(init_cfg=init_cfg, **kwargs)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.eps = eps
        self.fc = nn.Linear(in_channels, num_classes, bias=False)
        scale_t = torch.tensor(float(scale))
        if learnable_scale:
            self.scale = nn.Parameter(scale_t)
        else:
            self.register_buffer('scale', scale_t)
        self.bias = nn.Parameter(torch.zeros(num_classes)) if bias else None

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The L2-normalised last-stage feature."""
        return l2_normalize(feats[-1], dim=1, eps=self.eps)

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Scaled cosine logits."""
        x = self.pre_logits(feats)
        w = l2_normalize(self.fc.weight, dim=1, eps=self.eps)
        logits = self.scale * F.linear(x, w)
        if self.bias is not None:
            logits = logits + self.bias
        return logits
