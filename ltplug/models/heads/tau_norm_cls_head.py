# Copyright (c) ltplug contributors. All rights reserved.
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.registry import MODELS

from ltplug.models.utils.logit_adjust import norm_floor, upcast
from ltplug.utils.validate import check_bool, check_number

from .utils import FC_INIT, check_head_size


@MODELS.register_module()
class TauNormClsHead(LinearClsHead):
    """Linear head with tau-normalised class weights (Kang et al., ICLR 2020).

    ``logits = f @ (W_c / ||W_c||^tau)^T (+ b)``: each class's weight vector
    is divided by its L2 norm raised to ``tau``. ``tau = 0`` is the plain
    linear head, ``tau = 1`` makes every class weight unit-norm. Because the
    head keeps the ``fc`` parameters of ``LinearClsHead`` (``head.fc.weight``,
    ``head.fc.bias``), a stage-one checkpoint trained with ``LinearClsHead``
    tests with this head with no retraining (the decoupling "tau-norm"
    baseline): swap the head type in the config and run ``tools/test.py``.

    The normalisation is applied in every forward pass (also in training;
    the head is meant for testing).

    Mixed precision: the norms and ``W_c / ||W_c||^tau`` are computed in
    fp32 (``eps`` = 1e-12 is 0 in fp16, so a zero row would give ``0 / 0``)
    with the bound raised to fp16's smallest normal number for fp16
    weights (:func:`ltplug.models.utils.logit_adjust.norm_floor`), and
    the result is cast back to the weight's dtype.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Feature width.
        tau (float): The exponent of the norm. Defaults to 1.0.
        use_bias (bool): Add ``fc.bias`` to the normalised logits (when
            the linear layer has one). Defaults to True.
        eps (float): Lower bound of the norms (> 0), applied in fp32.
            Defaults to 1e-12.
        init_cfg (dict, optional): Weight init of ``fc``. Defaults to
            ``dict(type='Normal', layer='Linear', std=0.01)``.
        **kwargs: Other arguments of
            :class:`mmpretrain.models.LinearClsHead` (``loss``, ``topk``,
            ``cal_acc``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 tau: float = 1.0,
                 use_bias: bool = True,
                 eps: float = 1e-12,
                 init_cfg: Optional[dict] = FC_INIT,
                 **kwargs) -> None:
        owner = type(self).__name__
        num_classes, in_channels = check_head_size(owner, num_classes,
                                                   in_channels)
        tau = check_number('tau', tau, min=0, owner=owner)
        eps = check_number('eps', eps, min=0, min_inclusive=False,
                           owner=owner)
        use_bias = check_bool('use_bias', use_bias, owner=owner)
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            init_cfg=init_cfg,
            **kwargs)
        self.tau = float(tau)
        self.use_bias = use_bias
        self.eps = eps

    def normalized_weight(self) -> torch.Tensor:
        """``W_c / ||W_c||^tau`` for every class ``c`` (rows of ``fc``)."""
        dtype = self.fc.weight.dtype
        weight = upcast(self.fc.weight)
        norms = weight.norm(p=2, dim=1, keepdim=True).clamp_min(
            norm_floor(self.eps, dtype))
        return (weight / norms.pow(self.tau)).to(dtype)

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Logits with the tau-normalised weights."""
        x = self.pre_logits(feats)
        bias = self.fc.bias if self.use_bias else None
        return F.linear(x, self.normalized_weight(), bias)
