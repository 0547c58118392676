# Copyright (c) ltplug contributors. All rights reserved.
"""The label-aware MoCo loss of SSD's stage I (Li et al., ICCV 2021)."""
import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

from ltplug.models.utils.logit_adjust import upcast
from ltplug.utils.validate import check_number


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
    they are **not** extra positives (this is not SupCon). The official code
    multiplies ``exp`` of the logits by a 0/1 mask; here the masked logits are
    set to ``-inf`` and a log-sum-exp is used, which is the same value but
    does not overflow at small temperatures.

    Mixed precision: fp16/bf16 inputs are cast to fp32, and the similarities
    are cast to fp32 again after the matrix product (which
    ``torch.autocast`` runs in its low dtype), so the log-sum-exp over the
    queue and the loss are fp32.

    Args:
        temperature (float): ``tau``. Defaults to 0.2 (SSD).
        loss_weight (float): Weight of the loss (>= 0). Defaults to 1.0.
    """

    def __init__(self,
                 temperature: float = 0.2,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        owner = type(self).__name__
        self.temperature = check_number('temperature', temperature, min=0,
                                        min_inclusive=False, owner=owner)
        self.loss_weight = check_number('loss_weight', loss_weight, min=0,
                                        owner=owner)

    def forward(self, query: torch.Tensor, key: torch.Tensor,
                labels: torch.Tensor, queue: torch.Tensor,
                queue_labels: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            query (Tensor): ``(B, D)`` L2-normalised queries.
            key (Tensor): ``(B, D)`` L2-normalised positive keys (detached).
            labels (Tensor): ``(B,)`` labels of the queries.
            queue (Tensor): ``(K, D)`` L2-normalised queued keys.
            queue_labels (Tensor): ``(K,)`` labels of the queued keys.

        Returns:
            Tensor: The scalar loss.
        """
        if query.shape != key.shape or query.dim() != 2:
            raise ValueError('query and key must both be (B, D), but got '
                             f'{tuple(query.shape)} and {tuple(key.shape)}')
        if queue.dim() != 2 or queue.size(1) != query.size(1):
            raise ValueError(f'queue must be (K, {query.size(1)}), but got '
                             f'{tuple(queue.shape)}')
        if labels.shape != (query.size(0), ) or \
                queue_labels.shape != (queue.size(0), ):
            raise ValueError(
                f'labels must be ({query.size(0)},) and queue_labels '
                f'({queue.size(0)},), but got {tuple(labels.shape)} and '
                f'{tuple(queue_labels.shape)}')
        query = upcast(query)
        key = key.detach().to(query.dtype)
        queue = queue.detach().to(query.dtype)
        l_pos = (query * key).sum(dim=1, keepdim=True) / self.temperature
        l_neg = (query @ queue.t()).to(query.dtype) / self.temperature
        same = labels.view(-1, 1) == queue_labels.view(1, -1)
        l_neg = l_neg.masked_fill(same, float('-inf'))
        logits = torch.cat([l_pos, l_neg], dim=1)
        loss = -(l_pos.squeeze(1) - torch.logsumexp(logits, dim=1)).mean()
        return self.loss_weight * loss
