# Copyright (c) ltplug contributors. All rights reserved.
"""Test-only loss: cross-entropy that turns NaN on one rank only, from a
given call on (the other ranks' losses stay finite)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_rank
from mmpretrain.registry import MODELS


@MODELS.register_module(force=True)
class NaNOnRankLoss(nn.Module):
    """Cross-entropy that is NaN on rank ``rank`` from call
    ``nan_from_call`` on.

    Args:
        nan_from_call (int): The first call (1-based) whose loss is NaN.
            Defaults to 3.
        rank (int): The only rank whose loss becomes NaN. Defaults to 1.
    """

    def __init__(self, nan_from_call: int = 3, rank: int = 1):
        super().__init__()
        self.nan_from_call = nan_from_call
        self.rank = rank
        self.calls = 0

    def forward(self, cls_score, label, **kwargs):
        self.calls += 1
        loss = F.cross_entropy(cls_score, label)
        if get_rank() == self.rank and self.calls >= self.nan_from_call:
            loss = loss * torch.tensor(float('nan'))
        return loss
