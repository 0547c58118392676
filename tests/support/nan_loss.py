# Copyright (c) ltplug contributors. All rights reserved.
"""Test-only loss: cross-entropy that turns NaN from a given call on."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS


@MODELS.register_module(force=True)
class NaNAfterLoss(nn.Module):

    def __init__(self, nan_from_call: int = 10):
        super().__init__()
        self.nan_from_call = nan_from_call
        self.calls = 0

    def forward(self, cls_score, label, **kwargs):
        self.calls += 1
        loss = F.cross_entropy(cls_score, label)
        if self.calls >= self.nan_from_call:
            loss = loss * torch.tensor(float('nan'))
        return loss
