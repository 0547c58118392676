# Copyright (c) ltplug contributors. All rights reserved.
"""MoCo building blocks shared by SSD (label-aware queue) and NCL
(per-expert queues): EMA update, all-gather of keys and a key queue."""
from typing import Optional

import torch
import torch.distributed as torch_dist
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['ema_update', 'concat_all_gather', 'KeyQueue']


@torch.no_grad()
def ema_update(online: nn.Module, ema: nn.Module, momentum: float) -> None:
    """``ema = momentum * ema + (1 - momentum) * online`` on parameters.

    Buffers (BN running statistics) are left to the EMA module's own forward
    passes, as in MoCo.

    Args:
        online (nn.Module): The trained module.
        ema (nn.Module): Its momentum copy (same architecture).
        momentum (float): In ``[0, 1]``; 0.999 in MoCo.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f'momentum must be in [0, 1], but got {momentum}')
    for p_o, p_e in zip(online.parameters(), ema.parameters()):
        p_e.mul_(momentum).add_(p_o.detach(), alpha=1.0 - momentum)


@torch.no_grad()
def concat_all_gather(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` from all ranks along dim 0 (no gradient).

    Returns the tensor itself when not distributed. Every rank must pass a
    tensor of the same shape.
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return tensor
    world = torch_dist.get_world_size()
    if world == 1:
        return tensor
    out = [torch.empty_like(tensor) for _ in range(world)]
    torch_dist.all_gather(out, tensor.contiguous())
    return torch.cat(out, dim=0)


class KeyQueue(nn.Module):
    """A FIFO queue of L2-normalised keys, optionally with their labels.

    The queue, the labels and the write pointer are buffers, so they are in
    the checkpoint and a resumed run continues with the same queue.

    Args:
        size (int): Number of keys ``K``.
        dim (int): Key width.
        with_labels (bool): Keep a label per key (SSD). Defaults to False.
        init_label (int): Label of the initial random keys. Defaults to 0
            (as the SSD code, whose label queue starts at zeros).
    """

    def __init__(self,
                 size: int,
                 dim: int,
                 with_labels: bool = False,
                 init_label: int = 0) -> None:
        super().__init__()
        if size <= 0 or dim <= 0:
            raise ValueError(f'queue size and dim must be > 0, but got '
                             f'size={size}, dim={dim}')
        self.size = size
        self.dim = dim
        self.register_buffer('keys', F.normalize(torch.randn(size, dim), dim=1))
        self.register_buffer('ptr', torch.zeros(1, dtype=torch.long))
        self.with_labels = with_labels
        if with_labels:
            self.register_buffer(
                'labels', torch.full((size, ), init_label, dtype=torch.long))

    @torch.no_grad()
    def enqueue(self,
                keys: torch.Tensor,
                labels: Optional[torch.Tensor] = None) -> None:
        """Write ``keys`` (and ``labels``) at the pointer, wrapping around.

        Args:
            keys (Tensor): ``(N, dim)``; ``N`` may not exceed the size.
            labels (Tensor, optional): ``(N,)``, required iff the queue keeps
                labels.
        """
        n = keys.size(0)
        if keys.dim() != 2 or keys.size(1) != self.dim:
            raise ValueError(f'keys must have shape (N, {self.dim}), but got '
                             f'{tuple(keys.shape)}')
        if n > self.size:
            raise ValueError(f'cannot enqueue {n} keys into a queue of '
                             f'{self.size}')
        if self.with_labels != (labels is not None):
            raise ValueError('labels must be given exactly when the queue '
                             f'keeps labels (with_labels={self.with_labels})')
        ptr = int(self.ptr.item())
        idx = (torch.arange(n, device=self.keys.device) + ptr) % self.size
        self.keys[idx] = keys.detach().to(self.keys.dtype)
        if labels is not None:
            self.labels[idx] = labels.detach().to(self.labels.device).long()
        self.ptr[0] = (ptr + n) % self.size
