# Copyright (c) ltplug contributors. All rights reserved.
"""The EMA (momentum) key encoders of MoCo: one fused update."""
from typing import Iterable, Sequence, Tuple, Union

import torch
import torch.nn as nn

__all__ = [
    'ema_update', 'ema_update_pairs', 'ema_update_tensors',
    'copy_online_to_ema'
]

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
def copy_online_to_ema(pairs: Iterable[Tuple[nn.Module, nn.Module]]) -> None:
    """Start every EMA module as a copy of its online module.

    Args:
        pairs (Iterable[tuple[nn.Module, nn.Module]]): ``(online, ema)``
            pairs of the same architecture.
    """
    for online, ema in pairs:
        ema.load_state_dict(online.state_dict())


@torch.no_grad()
def ema_update_pairs(pairs: Iterable[Tuple[nn.Module, nn.Module]],
                     momentum: float) -> None:
    """:func:`ema_update` of ``(online, ema)`` module pairs, in one fused
    pass over all their parameters.

    Args:
        pairs (Iterable[tuple[nn.Module, nn.Module]]): ``(online, ema)``
            pairs of the same architecture.
        momentum (float): In ``[0, 1]``.
    """
    pairs = list(pairs)
    ema_update([o for o, _ in pairs], [e for _, e in pairs], momentum)
