# Copyright (c) ltplug contributors. All rights reserved.
"""The label-aware MoCo loss of SSD's stage I (Li et al., ICCV 2021)."""
import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

from ltplug.models.utils.moco import label_aware_info_nce
from .utils import check_temperature_and_weight


@MODELS.register_module()
class LabelAwareMoCoLoss(nn.Module):
    """InfoNCE against a queue of keys whose same-class entries are dropped.

    For a query ``q_b`` with label ``y_b``, its key ``k_b`` and a queue of
    keys ``Q_j`` with labels ``y(Q_j)`` (all L2-normalised):

    .. math::

        L = -\\frac{1}{B}\\sum_b \\log
            \\frac{e^{q_b k_b / \\tau}}
                  {e^{q_b k_b / \\tau}
                   + \\sum_{j: y(Q_j) \\neq y_b} e^{q_b Q_j / \\tau}}

    Queue entries of the query's own class are removed from the denominator;
    they are **not** extra positives (this is not SupCon). The loss is
    :func:`~ltplug.models.utils.moco.label_aware_info_nce` (``-inf`` masking
    in a log-sum-exp rather than the official 0/1 mask on ``exp``: the same
    value without overflow; fp16/bf16 inputs are computed in fp32).

    Args:
        temperature (float): ``tau``. Defaults to 0.2 (SSD).
        loss_weight (float): Weight of the loss (>= 0). Defaults to 1.0.
    """

    def __init__(self,
                 temperature: float = 0.2,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.temperature, self.loss_weight = check_temperature_and_weight(
            type(self).__name__, temperature, loss_weight)

    def forward(self, query: torch.Tensor, key: torch.Tensor,
                labels: torch.Tensor, queue: torch.Tensor,
                queue_labels: torch.Tensor) -> torch.Tensor:
        """The weighted loss of ``(B, D)`` L2-normalised queries and their
        (detached) keys, ``(B,)`` query labels, and a ``(K, D)`` queue of
        keys with ``(K,)`` labels (the arguments of
        :func:`~ltplug.models.utils.moco.label_aware_info_nce`)."""
        return self.loss_weight * label_aware_info_nce(
            query, key, labels, queue, queue_labels, self.temperature)
