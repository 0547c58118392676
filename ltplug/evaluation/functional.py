# Copyright (c) ltplug contributors. All rights reserved.
"""Pure helpers for shot-wise (many / medium / few) evaluation."""
from typing import Dict, Sequence

import numpy as np

__all__ = ['shot_groups', 'group_accuracy']


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
