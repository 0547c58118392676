# Copyright (c) ltplug contributors. All rights reserved.
"""Helpers of the evaluation metrics: shot-wise (many / medium / few)
grouping and the per-batch gathering of per-sample tensors."""
from typing import Any, Dict, Optional, Sequence

import numpy as np
import torch

from ltplug.utils.validate import check_bool, check_number

__all__ = [
    'shot_groups', 'group_accuracy', 'rows_as_batch', 'stack_rows',
    'first_elements'
]


def shot_groups(class_counts: Sequence[int],
                many_thr: int = 100,
                few_thr: int = 20,
                inclusive: bool = False) -> Dict[str, np.ndarray]:
    """Split classes into many / medium / few by their training counts.

    The standard rule (OLTR, decoupling, SSD) is many ``> 100``, few
    ``< 20``, medium otherwise. ``inclusive=True`` gives NCL's rule, many
    ``>= 100`` and few ``<= 20``.

    Args:
        class_counts (Sequence[int]): Training images per class.
        many_thr (int): Threshold of the many-shot group. Defaults to 100.
        few_thr (int): Threshold of the few-shot group. Defaults to 20.
        inclusive (bool): Whether the thresholds belong to the many / few
            groups. Defaults to False.

    Returns:
        dict[str, np.ndarray]: Boolean masks ``many``, ``medium``, ``few``
        over the classes; they partition the classes.
    """
    many_thr = check_number('many_thr', many_thr, min=0)
    few_thr = check_number('few_thr', few_thr, min=0)
    inclusive = check_bool('inclusive', inclusive)
    counts = np.asarray(class_counts)
    if counts.ndim != 1:
        raise ValueError(f'class_counts must be 1-D, got shape {counts.shape}')
    if few_thr > many_thr:
        raise ValueError(f'few_thr ({few_thr}) must not exceed many_thr '
                         f'({many_thr})')
    if inclusive:
        many = counts >= many_thr
        few = (counts <= few_thr) & ~many
    else:
        many = counts > many_thr
        few = counts < few_thr
    medium = ~(many | few)
    return dict(many=many, medium=medium, few=few)


def group_accuracy(class_acc: Sequence[float],
                   groups: Dict[str, np.ndarray]) -> Dict[str, float]:
    """Mean of the per-class accuracies inside each group.

    Classes whose accuracy is nan (no test sample) are left out of their
    group's mean; a group with no class left gives nan.

    Args:
        class_acc (Sequence[float]): Accuracy per class, nan where unknown.
        groups (dict[str, np.ndarray]): Boolean class masks by group name,
            e.g. from :func:`shot_groups`.

    Returns:
        dict[str, float]: One mean per group, in the order of ``groups``.
    """
    acc = np.asarray(class_acc, dtype=np.float64)
    known = ~np.isnan(acc)
    out: Dict[str, float] = {}
    for name, mask in groups.items():
        if len(mask) != len(acc):
            raise ValueError(f'group {name!r} has {len(mask)} classes, '
                             f'class_acc has {len(acc)}')
        vals = acc[mask & known]
        out[name] = float(vals.mean()) if vals.size else float('nan')
    return out


def _target_device(tensors: Sequence[torch.Tensor]) -> torch.device:
    """The first non-CPU device among ``tensors``, else the CPU."""
    for t in tensors:
        if t.device.type != 'cpu':
            return t.device
    return torch.device('cpu')


def rows_as_batch(rows: Sequence[Any]) -> Optional[torch.Tensor]:
    """The ``(B, *S)`` tensor whose entry ``i`` is ``rows[i]``, no copy.

    A head gives every data sample one row (one slice along the batch
    dimension) of its batch output, so the samples' ``pred_score`` (or
    ``expert_logits``) tensors are evenly spaced views into one storage.
    Seeing them again as one batch tensor spares stacking them: on the CPU
    the stack is a copy about as slow as the top-k itself (7 ms and 8 ms
    for a batch of 256 x 8,142 scores on one thread).

    Args:
        rows (Sequence): The per-sample tensors.

    Returns:
        torch.Tensor | None: A strided view whose entry ``i`` is
        ``rows[i]``, or None when the rows are not tensors of one shape,
        stride, dtype and device, evenly spaced (in increasing order) in
        one storage; the caller then stacks them (see :func:`stack_rows`).
    """
    if len(rows) == 0:
        return None
    first = rows[0]
    if not isinstance(first, torch.Tensor) or first.dim() == 0:
        return None
    shape, stride = first.shape, first.stride()
    dtype, device, size = first.dtype, first.device, first.element_size()
    try:
        ptr0 = first.data_ptr()
        step = (rows[1].data_ptr() - ptr0) if len(rows) > 1 else 0
        if step < 0 or step % size:
            return None
        for i, row in enumerate(rows):
            if (not isinstance(row, torch.Tensor) or row.shape != shape
                    or row.stride() != stride or row.dtype != dtype
                    or row.device != device
                    or row.data_ptr() != ptr0 + i * step):
                return None
        # refuses to read past the first row's storage, so rows that only
        # look evenly spaced (each in its own storage) are never joined
        return first.detach().as_strided((len(rows), *shape),
                                         (step // size, *stride),
                                         first.storage_offset())
    except RuntimeError:  # no data pointer (sparse, meta) or out of bounds
        return None


def stack_rows(rows: Sequence[Any]) -> torch.Tensor:
    """The per-sample tensors ``rows`` as one detached batch tensor.

    A view when :func:`rows_as_batch` finds one; otherwise the rows are
    stacked (non-tensors through ``torch.as_tensor``) on the first non-CPU
    device among them, so scores that live on an accelerator stay there.

    Args:
        rows (Sequence): The per-sample tensors (or array-likes), all of
            one shape.

    Returns:
        torch.Tensor: ``(B, *S)``, on the rows' device.
    """
    view = rows_as_batch(rows)
    if view is not None:
        return view
    tensors = [
        r.detach() if isinstance(r, torch.Tensor) else torch.as_tensor(r)
        for r in rows
    ]
    device = _target_device(tensors)
    tensors = [t if t.device == device else t.to(device) for t in tensors]
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) != 1:
        raise ValueError('the samples of a batch must have one shape, but '
                         f'got shapes {sorted(shapes)}')
    return torch.stack(tensors)


def _cat_single_elements(values: Sequence[Any]) -> Optional[torch.Tensor]:
    """``torch.cat(values)`` when every value is a ``(1, )`` tensor on one
    device (a ``gt_label`` per sample), else None."""
    if not all(
            isinstance(v, torch.Tensor) and v.dim() == 1 and v.numel() == 1
            for v in values):
        return None
    try:
        return torch.cat(list(values)).detach()
    except RuntimeError:  # the values live on several devices
        return None


def first_elements(values: Sequence[Any],
                   device: Optional[torch.device] = None) -> torch.Tensor:
    """The first element of every value as one ``(B, )`` int64 tensor.

    Built on the device without reading any value on the host (no
    ``int(tensor)`` per sample, i.e. no device synchronisation): labels such
    as ``gt_label`` (a 1-element tensor per sample) are gathered into one
    tensor that travels to the host with the rest of the batch's results.

    Args:
        values (Sequence): Tensors, numbers or array-likes with at least one
            element each.
        device (torch.device, optional): Where the result goes. Defaults to
            None (the first non-CPU device among the values, else the CPU).

    Returns:
        torch.Tensor: ``(B, )`` int64.
    """
    if len(values) == 0:
        return torch.zeros(0, dtype=torch.int64, device=device)
    # the common case first: one cat (0.1 ms for 256 labels, reshaping each
    # value first takes 2.8 ms)
    out = _cat_single_elements(values)
    if out is None:
        parts = []
        for i, value in enumerate(values):
            t = (value.detach() if isinstance(value, torch.Tensor) else
                 torch.as_tensor(value))
            t = t.reshape(-1)[:1]
            if t.numel() == 0:
                raise ValueError(f'sample {i} has an empty value: {value!r}')
            parts.append(t)
        if len({t.device for t in parts}) > 1:
            target = _target_device(parts) if device is None else device
            parts = [t if t.device == target else t.to(target)
                     for t in parts]
        out = torch.cat(parts)
    out = out.to(torch.int64)
    if device is not None and out.device != torch.device(device):
        out = out.to(device)  # one copy for the whole batch
    return out
