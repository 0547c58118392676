# Copyright (c) ltplug contributors. All rights reserved.
"""The per-sample records :class:`~ltplug.evaluation.ShotAccuracy` keeps.

:func:`shot_records` turns one batch of scores into what the metric needs
of each sample, computed on the scores' device in one batched ``topk``;
only these ``(B, 4 + len(topk))`` values come to the host, in one copy.
Each record is one float64 row (all entries exact: class indices and 0 / 1
flags, and a float32 confidence)::

    [label, pred, correct, confidence, hit@k for each k of topk]

``pred`` is the top-1 class, ``correct`` whether it is the label,
``confidence`` the top-1 score (``max`` of ``pred_score``; nan without
scores) and ``hit@k`` whether the label is among the top-``k`` classes.
"""
from typing import Optional, Sequence

import numpy as np
import torch

__all__ = [
    'LABEL', 'PRED', 'CORRECT', 'CONFIDENCE', 'FIRST_HIT', 'record_width',
    'shot_records'
]

#: column of the true label
LABEL = 0
#: column of the top-1 class
PRED = 1
#: column of the top-1 hit (1.0 when ``pred == label``)
CORRECT = 2
#: column of the top-1 score (float32 value; nan without ``pred_score``)
CONFIDENCE = 3
#: column of the first ``hit@k``; one column per k of ``topk``, in order
FIRST_HIT = 4


def record_width(topk: Sequence[int]) -> int:
    """Number of columns of a record for ``topk``.

    Args:
        topk (Sequence[int]): The ``k`` of the top-k accuracies.

    Returns:
        int: ``4 + len(topk)``.
    """
    return FIRST_HIT + len(topk)


def shot_records(labels: torch.Tensor,
                 topk: Sequence[int],
                 scores: Optional[torch.Tensor] = None,
                 preds: Optional[torch.Tensor] = None) -> np.ndarray:
    """The records of one batch (see the module docstring).

    With ``scores``, one ``scores.topk(min(max(topk), C), dim=1)`` on their
    device ranks the classes (ties resolve as ``torch.topk`` does; a ``k``
    above ``C`` counts every class). Without, ``preds`` are the top-1
    classes (only ``topk == (1, )`` can be answered) and the confidence is
    nan. The labels join the scores' device; the results leave it in one
    int64 copy (the float32 confidence travels bit for bit).

    Args:
        labels (torch.Tensor): ``(B, )`` integer true labels.
        topk (Sequence[int]): The ``k`` of the top-k hits, each ``>= 1``.
        scores (torch.Tensor, optional): ``(B, C)`` class scores. Defaults
            to None (use ``preds``).
        preds (torch.Tensor, optional): ``(B, )`` predicted labels, read
            when ``scores`` is None. Defaults to None.

    Returns:
        np.ndarray: ``(B, 4 + len(topk))`` float64 records on the host.
    """
    if scores is not None:
        if scores.dim() != 2:
            raise ValueError('scores must be (B, C), but got shape '
                             f'{tuple(scores.shape)}')
        num = min(max(topk), scores.size(1))
        values, top = scores.topk(num, dim=1)
        conf = values[:, 0].float()
    elif preds is not None:
        if max(topk) > 1:
            raise ValueError(f'topk={tuple(topk)} needs class scores, but '
                             'got only predicted labels')
        top = preds.reshape(-1, 1).to(torch.int64)
        num = 1
        conf = torch.full((top.size(0), ), float('nan'), device=top.device)
    else:
        raise ValueError('shot_records needs scores or preds, got neither')
    if labels.shape != (top.size(0), ):
        raise ValueError(f'labels must be ({top.size(0)}, ), but got shape '
                         f'{tuple(labels.shape)}')
    if labels.device != top.device:
        labels = labels.to(top.device)  # one copy for the whole batch
    labels = labels.to(torch.int64)
    # hits[:, j]: the label is among the top (j + 1) classes
    hits = (top == labels[:, None]).to(torch.int64).cumsum(dim=1) > 0
    columns = [min(k, num) - 1 for k in topk]
    conf_bits = conf.contiguous().view(torch.int32).to(torch.int64)
    block = torch.cat([
        labels[:, None], top[:, :1].to(torch.int64),
        hits[:, :1].to(torch.int64), conf_bits[:, None],
        hits[:, columns].to(torch.int64)
    ], dim=1).cpu().numpy()
    rows = block.astype(np.float64)
    rows[:, CONFIDENCE] = block[:, CONFIDENCE].astype(np.int32).view(
        np.float32)
    return rows
