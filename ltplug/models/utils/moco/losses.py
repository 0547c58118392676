# Copyright (c) ltplug contributors. All rights reserved.
"""MoCo's contrastive losses: InfoNCE (NCL) and label-aware InfoNCE
(SSD), as functions of the queries, keys and queue."""
import torch
import torch.nn.functional as F

from ..logit_adjust import upcast

__all__ = ['info_nce', 'label_aware_info_nce']


def _check_contrast_shapes(query: torch.Tensor, key: torch.Tensor,
                           queue: torch.Tensor) -> None:
    if query.shape != key.shape or query.dim() != 2:
        raise ValueError('query and key must both be (B, D), but got '
                         f'{tuple(query.shape)} and {tuple(key.shape)}')
    if queue.dim() != 2 or queue.size(1) != query.size(1):
        raise ValueError(f'queue must be (K, {query.size(1)}), but got '
                         f'{tuple(queue.shape)}')


def info_nce(query: torch.Tensor, key: torch.Tensor, queue: torch.Tensor,
             temperature: float) -> torch.Tensor:
    """MoCo's InfoNCE: cross-entropy of ``[q.k, q.Q_j] / T`` with the key as
    the positive (class 0), averaged over the batch (NCL's MoCo loss, as
    the official code computes it, in the input dtype).

    Args:
        query (Tensor): ``(B, D)`` L2-normalised queries.
        key (Tensor): ``(B, D)`` L2-normalised positive keys (no gradient).
        queue (Tensor): ``(K, D)`` L2-normalised queued keys.
        temperature (float): ``T`` (> 0).

    Returns:
        Tensor: The scalar loss.
    """
    _check_contrast_shapes(query, key, queue)
    l_pos = (query * key).sum(dim=1, keepdim=True)
    l_neg = query @ queue.t()
    logits = torch.cat([l_pos, l_neg], dim=1) / temperature
    labels = torch.zeros(
        logits.size(0), dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits, labels)


def label_aware_info_nce(query: torch.Tensor, key: torch.Tensor,
                         labels: torch.Tensor, queue: torch.Tensor,
                         queue_labels: torch.Tensor,
                         temperature: float) -> torch.Tensor:
    """SSD's InfoNCE whose queue entries of the query's class are dropped
    from the denominator (they are not extra positives; not SupCon).

    The official code multiplies ``exp`` of the logits by a 0/1 mask; here
    the masked logits are ``-inf`` in a log-sum-exp, the same value without
    overflow at small temperatures. fp16/bf16 inputs are computed in fp32,
    the similarities cast to fp32 again after the matrix product (which
    ``torch.autocast`` runs in its low dtype).

    Args:
        query (Tensor): ``(B, D)`` L2-normalised queries.
        key (Tensor): ``(B, D)`` L2-normalised positive keys (detached).
        labels (Tensor): ``(B,)`` labels of the queries.
        queue (Tensor): ``(K, D)`` L2-normalised queued keys.
        queue_labels (Tensor): ``(K,)`` labels of the queued keys.
        temperature (float): ``tau`` (> 0).

    Returns:
        Tensor: The scalar loss.
    """
    _check_contrast_shapes(query, key, queue)
    if labels.shape != (query.size(0), ) or \
            queue_labels.shape != (queue.size(0), ):
        raise ValueError(
            f'labels must be ({query.size(0)},) and queue_labels '
            f'({queue.size(0)},), but got {tuple(labels.shape)} and '
            f'{tuple(queue_labels.shape)}')
    query = upcast(query)
    key = key.detach().to(query.dtype)
    queue = queue.detach().to(query.dtype)
    l_pos = (query * key).sum(dim=1, keepdim=True) / temperature
    l_neg = (query @ queue.t()).to(query.dtype) / temperature
    same = labels.view(-1, 1) == queue_labels.view(1, -1)
    l_neg = l_neg.masked_fill(same, float('-inf'))
    logits = torch.cat([l_pos, l_neg], dim=1)
    return -(l_pos.squeeze(1) - torch.logsumexp(logits, dim=1)).mean()
