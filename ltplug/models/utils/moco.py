# Copyright (c) ltplug contributors. All rights reserved.
"""MoCo building blocks shared by SSD (label-aware queue) and NCL
(per-expert queues): EMA update, all-gather of keys and a key queue."""
from typing import Optional, Sequence, Union

import torch
import torch.distributed as torch_dist
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_comm_device, get_default_group

__all__ = ['ema_update', 'ema_update_tensors', 'concat_all_gather',
           'KeyQueue']

Modules = Union[nn.Module, Sequence[nn.Module]]


@torch.no_grad()
def ema_update_tensors(online: Sequence[torch.Tensor],
                       ema: Sequence[torch.Tensor],
                       momentum: float) -> None:
    """``ema = momentum * ema + (1 - momentum) * online``, in place.

    One ``torch._foreach_mul_`` and one ``torch._foreach_add_`` over the
    whole lists (a couple of fused kernels instead of two per tensor), with
    the same arithmetic as ``e.mul_(m).add_(o, alpha=1 - m)`` on each pair,
    so the result is bitwise the same.

    Args:
        online (Sequence[Tensor]): The trained tensors (read only).
        ema (Sequence[Tensor]): Their momentum copies, updated in place.
        momentum (float): In ``[0, 1]``; 0.999 in MoCo.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f'momentum must be in [0, 1], but got {momentum}')
    online, ema = list(online), list(ema)
    if len(online) != len(ema):
        raise ValueError(f'ema_update needs as many EMA tensors as online '
                         f'ones, but got {len(ema)} and {len(online)}')
    if not ema:
        return
    online = [t.detach() for t in online]
    torch._foreach_mul_(ema, momentum)
    torch._foreach_add_(ema, online, alpha=1.0 - momentum)


def _params(modules: Modules) -> list:
    if isinstance(modules, nn.Module):
        modules = [modules]
    return [p for m in modules for p in m.parameters()]


@torch.no_grad()
def ema_update(online: Modules, ema: Modules, momentum: float) -> None:
    """``ema = momentum * ema + (1 - momentum) * online`` on parameters.

    Buffers (BN running statistics) are left to the EMA module's own forward
    passes, as in MoCo. All parameters are updated in one fused pass
    (:func:`ema_update_tensors`).

    Args:
        online (nn.Module | Sequence[nn.Module]): The trained module(s).
        ema (nn.Module | Sequence[nn.Module]): The momentum copies, paired
            with ``online`` in order (same architectures).
        momentum (float): In ``[0, 1]``; 0.999 in MoCo.
    """
    ema_update_tensors(_params(online), _params(ema), momentum)


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
