# Copyright (c) ltplug contributors. All rights reserved.
"""The prediction samples of classifiers with several logit sets (NCL's
experts, SSD stage III's hard and soft heads), and the data-sample key
under which :class:`~ltplug.evaluation.ExpertAccuracy` reads them."""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

__all__ = ['EXPERT_LOGITS_KEY', 'pack_multi_logit_predictions']

#: the data-sample field holding the ``(E, C)`` raw logits of every expert
#: (or head) of one sample
EXPERT_LOGITS_KEY = 'expert_logits'


def pack_multi_logit_predictions(
        logits: torch.Tensor,
        per_expert: torch.Tensor,
        data_samples: Optional[Sequence[Optional[DataSample]]] = None
) -> List[DataSample]:
    """Data samples predicting with ``logits`` and carrying every expert's.

    Args:
        logits (Tensor): ``(B, C)``, the logits the model predicts with
            (``pred_score`` is their softmax, ``pred_label`` its argmax).
        per_expert (Tensor): ``(B, E, C)``, stored detached as
            :data:`EXPERT_LOGITS_KEY` (``E x C`` per sample).
        data_samples (Sequence[DataSample | None], optional): The samples to
            fill in place; None (or None entries) makes new ones.

    Returns:
        list[DataSample]: One sample per row of ``logits``.
    """
    if logits.dim() != 2 or per_expert.dim() != 3 or \
            per_expert.shape[0] != logits.shape[0] or \
            per_expert.shape[2] != logits.shape[1]:
        raise ValueError(
            f'need logits (B, C) and per_expert (B, E, C), but got '
            f'{tuple(logits.shape)} and {tuple(per_expert.shape)}')
    scores = F.softmax(logits, dim=1)
    labels = scores.argmax(dim=1, keepdim=True).detach()
    if data_samples is None:
        data_samples = [None] * logits.size(0)
    out = []
    for ds, score, label, rows in zip(data_samples, scores, labels,
                                      per_expert):
        if ds is None:
            ds = DataSample()
        ds.set_pred_score(score).set_pred_label(label)
        ds.set_field(rows.detach(), EXPERT_LOGITS_KEY)
        out.append(ds)
    return out
