# Copyright (c) ltplug contributors. All rights reserved.
"""Argument and buffer helpers shared by ltplug's losses."""
from typing import Sequence, Tuple

import torch
import torch.nn as nn

from ltplug.models.utils.logit_adjust import class_log_prior
from ltplug.utils.validate import check_number

__all__ = [
    'check_temperature_and_weight', 'register_class_prior',
    'store_class_prior'
]


def check_temperature_and_weight(
        owner: str, temperature: float,
        loss_weight: float) -> Tuple[float, float]:
    """Validate a temperature (> 0) and a loss weight (>= 0).

    Args:
        owner (str): The loss's name, for the error messages.
        temperature (float): The softening temperature.
        loss_weight (float): The loss weight.

    Returns:
        tuple[float, float]: ``(temperature, loss_weight)``.
    """
    temperature = check_number('temperature', temperature, min=0,
                               min_inclusive=False, owner=owner)
    loss_weight = check_number('loss_weight', loss_weight, min=0,
                               owner=owner)
    return temperature, loss_weight


def register_class_prior(module: nn.Module) -> None:
    """Give ``module`` empty ``class_counts`` (long) and ``log_prior``
    buffers, left out of checkpoints (the counts come from the dataset,
    see ``ClassCountsHook``)."""
    module.register_buffer(
        'class_counts', torch.empty(0, dtype=torch.long), persistent=False)
    module.register_buffer('log_prior', torch.empty(0), persistent=False)


def store_class_prior(module: nn.Module, counts: Sequence[int]) -> None:
    """Set the buffers of :func:`register_class_prior` from checked counts,
    on the device the module's buffers are on.

    Args:
        module (nn.Module): A module with those buffers.
        counts (Sequence[int]): Training images per class (already checked,
            e.g. by ``check_class_counts``).
    """
    module.class_counts = torch.as_tensor(
        counts, dtype=torch.long, device=module.class_counts.device)
    module.log_prior = class_log_prior(module.class_counts)
