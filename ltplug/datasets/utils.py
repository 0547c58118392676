# Copyright (c) ltplug contributors. All rights reserved.
"""Pure helpers on per-class counts, shared by datasets, samplers, losses and
metrics.

The one documented way an ``ltplug`` dataset exposes its per-class
**training** counts is ``dataset.metainfo['class_counts']`` (a list of ints,
index = class label). Every LT dataset sets it, on its train split and on
its val/test splits too (there it still holds the *training* counts, so a
metric on the test set can split classes into many/medium/few). Read it with
:func:`get_class_counts`, which also looks through dataset wrappers.
"""
from typing import Any, Optional, Sequence

import numpy as np

from ltplug.utils.validate import check_number

__all__ = [
    'exp_profile_counts', 'counts_from_labels', 'get_class_counts',
    'check_class_counts'
]

CLASS_COUNTS_KEY = 'class_counts'


def exp_profile_counts(n_max: int, num_classes: int,
                       imbalance_ratio: float) -> np.ndarray:
    """Exponential long-tail profile of Cui et al. / LDAM-DRW.

    ``n_c = int(n_max * (1 / ratio) ** (c / (C - 1)))``, head classes first.

    Args:
        n_max (int): Images kept in class 0 (the largest class).
        num_classes (int): Number of classes ``C`` (>= 1).
        imbalance_ratio (float): ``n_max / n_min`` (>= 1).

    Returns:
        np.ndarray: int64 counts of shape ``(C,)``.
    """
    imbalance_ratio = check_number('imbalance_ratio', imbalance_ratio, min=1)
    num_classes = check_number('num_classes', num_classes, integer=True,
                               min=1)
    n_max = check_number('n_max', n_max, integer=True, min=1)
    if num_classes == 1:
        return np.array([int(n_max)], dtype=np.int64)
    counts = [
        int(n_max * (1.0 / imbalance_ratio)**(c / (num_classes - 1.0)))
        for c in range(num_classes)
    ]
    return np.asarray(counts, dtype=np.int64)


def counts_from_labels(labels: Sequence[int],
                       num_classes: Optional[int] = None) -> np.ndarray:
    """Per-class counts of integer labels (``np.bincount``).

    Args:
        labels (Sequence[int]): Class index of every image.
        num_classes (int, optional): Length of the result; defaults to
            ``max(labels) + 1``.

    Returns:
        np.ndarray: int64 counts.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if labels.size and labels.min() < 0:
        raise ValueError(f'labels must be >= 0, but got {labels.min()}')
    if num_classes is not None and labels.size and \
            labels.max() >= num_classes:
        raise ValueError(f'label {labels.max()} is out of range for '
                         f'num_classes={num_classes}')
    return np.bincount(labels, minlength=num_classes or 0).astype(np.int64)


def check_class_counts(class_counts: Sequence[int],
                       name: str = 'class_counts',
                       allow_zero: bool = False) -> np.ndarray:
    """Validate a user-given count list and return it as an int64 array.

    Args:
        class_counts (Sequence[int]): Training images per class.
        name (str): Name used in error messages. Defaults to 'class_counts'.
        allow_zero (bool): Accept classes with no image. Defaults to False.

    Returns:
        np.ndarray: int64 counts.
    """
    if isinstance(class_counts, (str, bytes)):
        raise TypeError(f'{name} must be a list of ints, but got '
                        f'{class_counts!r} (str)')
    if isinstance(class_counts, (list, tuple)):
        bad = [v for v in class_counts if isinstance(v, (bool, np.bool_))]
        if bad:
            raise TypeError(f'{name} must hold ints, but got {bad[0]!r} '
                            f'(bool) in {list(class_counts)}')
    arr = np.asarray(class_counts)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f'{name} must be a non-empty 1-D list of ints, '
                         f'but got {class_counts!r}')
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer) or
                                     np.issubdtype(arr.dtype, np.floating)):
        bad = next((v for v in arr.tolist()
                    if isinstance(v, (bool, str)) or
                    not isinstance(v, (int, float))), arr.tolist()[0])
        raise TypeError(f'{name} must hold ints, but got {bad!r} '
                        f'({type(bad).__name__}) in {arr.tolist()}')
    if not np.all(np.isfinite(arr)) or \
            not np.all(np.equal(np.mod(arr, 1), 0)):
        raise ValueError(f'{name} must hold integers, but got {arr.tolist()}')
    arr = arr.astype(np.int64)
    if (arr < 0).any():
        raise ValueError(f'{name} must be >= 0, but got {arr.tolist()}')
    if not allow_zero and (arr == 0).any():
        empty = np.flatnonzero(arr == 0).tolist()
        raise ValueError(f'{name} has classes with zero training images: '
                         f'{empty}')
    return arr


def get_class_counts(dataset: Any) -> np.ndarray:
    """Per-class training counts of an ``ltplug`` dataset.

    Reads ``dataset.metainfo['class_counts']``; looks through wrappers that
    keep the wrapped dataset in ``.dataset`` (``ConcatDataset`` is not
    supported).

    Args:
        dataset: A dataset object.

    Returns:
        np.ndarray: int64 counts, index = class label.

    Raises:
        ValueError: If the dataset exposes no counts.
    """
    seen = dataset
    while seen is not None:
        meta = getattr(seen, 'metainfo', None)
        if isinstance(meta, dict) and meta.get(CLASS_COUNTS_KEY) is not None:
            return check_class_counts(meta[CLASS_COUNTS_KEY], allow_zero=True)
        seen = getattr(seen, 'dataset', None)
    raise ValueError(
        f'{type(dataset).__name__} exposes no per-class training counts '
        f"(metainfo['{CLASS_COUNTS_KEY}']). Use an ltplug long-tailed "
        'dataset (LongTailSubset, CIFAR10LT, CIFAR100LT, ImageNetLT, '
        'PlacesLT, INaturalist2018) or pass class_counts explicitly.')
