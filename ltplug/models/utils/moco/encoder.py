# Copyright (c) ltplug contributors. All rights reserved.
"""MoCo's projection heads and the key forward with shuffle-BN."""
from typing import Callable, List, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp

__all__ = ['first_view', 'projection_mlp', 'shuffled_keys']


def first_view(
        inputs: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
    """The classification (query) view: ``inputs[0]`` of a multi-view
    batch, or the batch itself (val / test, inference)."""
    if isinstance(inputs, (list, tuple)):
        return inputs[0]
    return inputs


def projection_mlp(in_dim: int, hidden_dim: int,
                   out_dim: int) -> nn.Sequential:
    """MoCo v2's projection ``Linear(in, hidden) - ReLU - Linear(hidden,
    out)`` (the query and key heads of SSD and NCL).

    Args:
        in_dim (int): Width of the pooled feature.
        hidden_dim (int): Hidden width.
        out_dim (int): Key width.

    Returns:
        nn.Sequential: The projection.
    """
    return nn.Sequential(
        nn.Linear(in_dim, hidden_dim), nn.ReLU(inplace=True),
        nn.Linear(hidden_dim, out_dim))


@torch.no_grad()
def shuffled_keys(encode: Callable[[torch.Tensor], Sequence[torch.Tensor]],
                  view: torch.Tensor, shuffle_bn: bool) -> List[torch.Tensor]:
    """L2-normalised keys of ``view``, with batch-shuffle BN.

    With ``shuffle_bn`` the batch is shuffled across ranks before the key
    encoders and each key set is un-shuffled after them (MMPretrain's
    ``batch_shuffle_ddp`` / ``batch_unshuffle_ddp``, as the official MoCo
    code), so the key encoders' BN statistics never come from the same
    images as the query's. On one process it permutes the batch, which
    changes no key.

    Args:
        encode (Callable): Maps the (shuffled) view to a sequence of
            ``(B, dim)`` projected, not yet normalised keys (one per key
            encoder).
        view (Tensor): The key view ``(B, C, H, W)``.
        shuffle_bn (bool): Shuffle the batch across ranks.

    Returns:
        list[Tensor]: One ``(B, dim)`` normalised key set per key encoder,
        in the input order.
    """
    if shuffle_bn:
        view, idx_unshuffle = batch_shuffle_ddp(view)
    keys = [F.normalize(k, dim=1) for k in encode(view)]
    if shuffle_bn:
        keys = [batch_unshuffle_ddp(k, idx_unshuffle) for k in keys]
    return keys
