# Copyright (c) ltplug contributors. All rights reserved.
"""Pure tensor helpers shared by ltplug heads and losses.

Mixed precision: the helpers here compute in at least fp32. fp16 cannot
hold a count above 65,504 (it becomes ``inf``), bf16 rounds counts to 8
significant bits (100,000 becomes 99,840), and a guard such as
``eps = 1e-12`` underflows to 0 in fp16, so the log-prior, the adjusted
logits and the L2 norms are taken in fp32 (fp64 stays fp64) whatever the
dtype of the input.
"""
from typing import Optional

import torch

__all__ = [
    'LOW_PRECISION_DTYPES', 'compute_dtype', 'upcast', 'class_log_prior',
    'logit_adjust', 'norm_floor', 'l2_normalize'
]

LOW_PRECISION_DTYPES = (torch.float16, torch.bfloat16)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a loss computes in for inputs of ``dtype``.

    Args:
        dtype (torch.dtype): The input dtype.

    Returns:
        torch.dtype: ``float32`` for fp16, bf16, fp32 and integer inputs;
        ``float64`` for fp64.
    """
    return torch.promote_types(dtype, torch.float32)


def upcast(x: torch.Tensor) -> torch.Tensor:
    """``x`` in :func:`compute_dtype` (fp16/bf16 become fp32).

    Args:
        x (Tensor): Any tensor.

    Returns:
        Tensor: ``x`` itself when it is fp32/fp64, else an fp32 copy (the
        cast is differentiable).
    """
    return x.to(compute_dtype(x.dtype))


def class_log_prior(class_counts: torch.Tensor,
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``log(n_c)`` computed in ``dtype`` (at least fp32).

    Args:
        class_counts (Tensor): ``(C,)`` training counts (> 0), integer or
            fp32/fp64 (exact up to 2**24 images per class in fp32).
        dtype (torch.dtype): Result dtype, promoted to at least fp32.
            Defaults to ``torch.float32``.

    Returns:
        Tensor: ``(C,)`` log-prior (up to the constant ``-log N``).
    """
    counts = torch.as_tensor(class_counts)
    if counts.dtype in LOW_PRECISION_DTYPES:
        raise TypeError(
            f'class counts in {counts.dtype} are inexact (fp16 turns counts '
            f'> 65504 into inf, bf16 rounds them); pass integer or fp32 '
            f'counts, got {counts.tolist()}')
    return torch.log(counts.to(compute_dtype(dtype)))


def logit_adjust(logits: torch.Tensor,
                 class_counts: torch.Tensor,
                 tau: float = 1.0,
                 log_prior: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``logits + tau * log(n_c)`` (balanced softmax / logit adjustment).

    The sum is taken in :func:`compute_dtype` of the logits: fp16 and bf16
    logits give fp32 adjusted logits (as ``torch.autocast`` runs the
    cross-entropy in fp32), so that neither the counts nor their log are
    ever held in a low-precision dtype.

    Args:
        logits (Tensor): ``(B, C)`` logits.
        class_counts (Tensor): ``(C,)`` training counts (> 0).
        tau (float): Strength. Defaults to 1.
        log_prior (Tensor, optional): ``class_log_prior(class_counts)``
            cached by the caller. It is used when its dtype is the compute
            dtype and recomputed from ``class_counts`` otherwise (e.g. after
            ``module.half()`` cast the cached buffer). Defaults to None.

    Returns:
        Tensor: Adjusted logits, fp32 for fp16/bf16/fp32 logits, fp64 for
        fp64 logits.
    """
    if class_counts.numel() != logits.size(-1):
        raise ValueError(f'{class_counts.numel()} class counts for logits '
                         f'with {logits.size(-1)} classes')
    dtype = compute_dtype(logits.dtype)
    if log_prior is None or log_prior.dtype != dtype:
        log_prior = class_log_prior(class_counts, dtype)
    return logits.to(dtype) + tau * log_prior.to(logits.device)


def norm_floor(eps: float, dtype: torch.dtype) -> float:
    """The lower bound used for a norm of a ``dtype`` tensor.

    ``max(eps, torch.finfo(dtype).tiny)``: ``eps`` itself for fp32/fp64
    (``tiny`` is about 1e-38 there), and at least the smallest normal
    number for fp16 (about 6.1e-5), so that the gradient of ``x / norm`` at
    a zero vector, ``1 / floor``, is finite in fp16 (with ``eps = 1e-12``
    it would be ``inf``). For bf16 ``tiny`` is that of fp32.

    Args:
        eps (float): The requested bound (> 0).
        dtype (torch.dtype): The dtype of the tensor being normalised.

    Returns:
        float: The bound.
    """
    if not eps > 0:
        raise ValueError(f'eps must be > 0, but got {eps}')
    if not dtype.is_floating_point:
        return float(eps)
    return max(float(eps), float(torch.finfo(dtype).tiny))


def l2_normalize(x: torch.Tensor,
                 dim: int = 1,
                 eps: float = 1e-12,
                 dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """``x / max(||x||, floor)`` with the norm taken in at least fp32.

    ``F.normalize`` in fp16/bf16 clamps the norm with ``eps`` cast to the
    input dtype: 1e-12 becomes 0 and a zero vector gives ``0 / 0 = NaN``.
    Here the norm and the division run in fp32 with the bound
    ``norm_floor(eps, x.dtype)`` and the result (entries in ``[-1, 1]``) is
    cast to ``dtype``. For fp32/fp64 inputs this is ``F.normalize``.

    A zero vector stays zero. Its gradient is the upstream gradient divided
    by the bound, as for ``F.normalize``: finite in fp32 and bf16, and in
    fp16 while the upstream gradient is below about 4 (beyond, it is
    ``inf``, which AMP's loss scaler handles by skipping the step).

    Args:
        x (Tensor): Input.
        dim (int): Dimension to normalise. Defaults to 1.
        eps (float): Lower bound of the norm (> 0). Defaults to 1e-12.
        dtype (torch.dtype, optional): Result dtype. Defaults to None
            (``x.dtype``).

    Returns:
        Tensor: The normalised ``x``.
    """
    floor = norm_floor(eps, x.dtype)
    x32 = upcast(x)
    norm = x32.norm(p=2, dim=dim, keepdim=True).clamp_min(floor)
    return (x32 / norm).to(x.dtype if dtype is None else dtype)
