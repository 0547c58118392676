# Copyright (c) ltplug contributors. All rights reserved.
"""MoCo's key queue (with labels and a device-side pointer) and the
all-gather of keys across ranks."""
from typing import Optional

import torch
import torch.distributed as torch_dist
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_comm_device, get_default_group

__all__ = ['concat_all_gather', 'KeyQueue']


@torch.no_grad()
def concat_all_gather(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` from all ranks along dim 0 (no gradient).

    The collective runs on the default process group's device
    (``mmengine.dist.get_comm_device``: the current CUDA device for NCCL,
    the CPU for Gloo), whatever device ``tensor`` is on; the result is
    moved back to ``tensor``'s device. Returns the tensor itself when not
    distributed or on a single process. Every rank must pass a tensor of
    the same shape.

    Args:
        tensor (Tensor): The local tensor, ``(N, ...)``.

    Returns:
        Tensor: ``(world_size * N, ...)`` on ``tensor.device``, rank order.
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return tensor
    world = torch_dist.get_world_size()
    if world == 1:
        return tensor
    group = get_default_group()
    comm = get_comm_device(group)
    local = tensor.detach().to(comm).contiguous()
    out = [torch.empty_like(local) for _ in range(world)]
    torch_dist.all_gather(out, local, group)
    return torch.cat(out, dim=0).to(tensor.device)


class KeyQueue(nn.Module):
    """A FIFO queue of L2-normalised keys, optionally with their labels.

    The queue, the labels and the write pointer are buffers, so they are in
    the checkpoint and a resumed run continues with the same queue. The
    pointer stays on the queue's device: :meth:`enqueue` computes the write
    positions with device arithmetic and never reads the pointer on the
    host (no device-to-host synchronisation per step).

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
        self.register_buffer('keys',
                             F.normalize(torch.randn(size, dim), dim=1))
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
        device = self.keys.device
        # (ptr + [0, n)) % K on the device: no .item(), no host sync
        idx = (torch.arange(n, device=device) + self.ptr) % self.size
        self.keys.index_copy_(0, idx, keys.detach().to(device,
                                                       self.keys.dtype))
        if labels is not None:
            self.labels.index_copy_(
                0, idx, labels.detach().to(self.labels.device).long())
        self.ptr.add_(n).remainder_(self.size)

    def snapshot(self) -> torch.Tensor:
        """A detached copy of the keys, for a loss computed before this
        step's :meth:`enqueue` (autograd keeps the queue for the query's
        gradient, and the enqueue writes the buffer in place before
        backward). The labels only build a mask, which autograd does not
        keep, so they need no copy."""
        return self.keys.detach().clone()
