# Copyright (c) ltplug contributors. All rights reserved.
"""Pure tensor helpers shared by ltplug heads and losses."""
import torch

__all__ = ['logit_adjust']


def logit_adjust(logits: torch.Tensor, class_counts: torch.Tensor,
                 tau: float = 1.0) -> torch.Tensor:
    """``logits + tau * log(n_c)`` (balanced softmax / logit adjustment).

    Args:
        logits (Tensor): ``(B, C)`` logits.
        class_counts (Tensor): ``(C,)`` training counts (> 0).
        tau (float): Strength. Defaults to 1.

    Returns:
        Tensor: Adjusted logits.
    """
    if class_counts.numel() != logits.size(-1):
        raise ValueError(f'{class_counts.numel()} class counts for logits '
                         f'with {logits.size(-1)} classes')
    prior = torch.log(class_counts.to(logits.dtype).to(logits.device))
    return logits + tau * prior
