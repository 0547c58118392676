# Copyright (c) ltplug contributors. All rights reserved.
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.losses.utils import weight_reduce_loss
from mmpretrain.registry import MODELS

from ltplug.datasets.utils import check_class_counts
from ltplug.models.utils.logit_adjust import logit_adjust
from ltplug.utils.validate import check_number

from .utils import register_class_prior, store_class_prior


@MODELS.register_module()
class BalancedSoftmaxLoss(nn.Module):
    """Balanced Softmax (Ren et al., NeurIPS 2020) / logit-adjusted CE
    (Menon et al., ICLR 2021): cross-entropy on ``z + tau * log(n_c)``.

    The counts may be given here or, when None, set before training by
    :class:`ltplug.engine.ClassCountsHook` from the train dataset. At test
    time the raw logits are used.

    Mixed precision: the counts are kept as int64 and their log as an fp32
    buffer (``log_prior``, recomputed by :meth:`set_class_counts`); fp16 or
    bf16 logits are cast to fp32 before the adjustment, so the
    cross-entropy runs in fp32 and the loss is fp32 (a count above 65,504
    would be ``inf`` in fp16).

    Args:
        class_counts (Sequence[int], optional): Training images per class.
            Defaults to None.
        tau (float): Adjustment strength (>= 0; 0 is plain CE).
            Defaults to 1.0.
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss (>= 0). Defaults to 1.0.
    """

    def __init__(self,
                 class_counts: Optional[Sequence[int]] = None,
                 tau: float = 1.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f'reduction must be none, mean or sum, but got '
                             f'{reduction!r}')
        owner = type(self).__name__
        self.tau = check_number('tau', tau, min=0, owner=owner)
        self.reduction = reduction
        self.loss_weight = check_number('loss_weight', loss_weight, min=0,
                                        owner=owner)
        register_class_prior(self)
        if class_counts is not None:
            self.set_class_counts(class_counts)

    def set_class_counts(self, class_counts: Sequence[int]) -> None:
        """Set the training counts (every class needs at least one image).

        Args:
            class_counts (Sequence[int]): Training images per class.
        """
        counts = check_class_counts(class_counts)
        store_class_prior(self, counts)

    def forward(self,
                cls_score: torch.Tensor,
                label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[int] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> torch.Tensor:
        """Compute the loss (``ClsHead``'s loss-module call signature)."""
        if self.class_counts.numel() == 0:
            raise RuntimeError(
                'BalancedSoftmaxLoss has no class counts: pass class_counts '
                "or add dict(type='ClassCountsHook') to custom_hooks")
        reduction = reduction_override or self.reduction
        # fp32 (fp64 stays fp64) whatever the dtype of cls_score
        adjusted = logit_adjust(cls_score, self.class_counts, self.tau,
                                self.log_prior)
        if label.dim() == 1:
            loss = F.cross_entropy(adjusted, label, reduction='none')
        else:  # soft targets (mixup / cutmix)
            log_p = F.log_softmax(adjusted, dim=1)
            loss = -(label.to(log_p.dtype) * log_p).sum(dim=1)
        if weight is not None:
            weight = weight.float()
        loss = weight_reduce_loss(
            loss, weight=weight, reduction=reduction, avg_factor=avg_factor)
        return self.loss_weight * loss
