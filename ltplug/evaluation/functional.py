# Copyright (c) ltplug contributors. All rights reserved.
"""Pure helpers for shot-wise (many / medium / few) evaluation."""
from typing import Dict, Sequence

import numpy as np

__all__ = ['shot_groups']


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
