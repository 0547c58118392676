# Copyright (c) ltplug contributors. All rights reserved.
"""Long-tailed subsets of balanced datasets (the CIFAR-LT protocol).

:func:`long_tail_profile` and :func:`select_long_tail_indices` are the one
implementation of "which images does a long-tailed subset keep"; they are
used by :class:`LongTailSubset` and by ``CIFAR10LT`` / ``CIFAR100LT``.
"""
import copy
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from mmpretrain.registry import DATASETS

from ltplug.utils.validate import check_bool, check_number

from .utils import CLASS_COUNTS_KEY, counts_from_labels, exp_profile_counts

SELECTIONS = ('ldam', 'first')


def check_long_tail_args(owner: str,
                         imbalance_ratio: Any,
                         seed: Any,
                         selection: Any,
                         counts: Optional[Dict[str, Any]] = None,
                         flags: Optional[Dict[str, Any]] = None) -> None:
    """Check the arguments every long-tailed subset takes, in this order.

    ``imbalance_ratio`` (a number ``>= 1``), the ``counts`` (ints ``>= 1``
    or None), ``seed`` (an int ``>= 0``), the ``flags`` (bools), then
    ``selection`` (one of :data:`SELECTIONS`); see
    :func:`ltplug.utils.validate.check_number`.

    Args:
        owner (str): The class taking the arguments, put in front of the
            number and flag messages.
        imbalance_ratio (Any): ``n_max / n_min``.
        seed (Any): Seed of the ``'ldam'`` selection.
        selection (Any): ``'ldam'`` or ``'first'``.
        counts (dict, optional): Name -> value of optional per-class
            counts (``max_per_class``, ``n_max``, ...). Defaults to None.
        flags (dict, optional): Name -> value of bool arguments. Defaults
            to None.

    Raises:
        TypeError: A number or flag of the wrong type (name and value
            quoted).
        ValueError: A number out of range or an unknown ``selection``.
    """
    check_number('imbalance_ratio', imbalance_ratio, min=1, owner=owner)
    for name, value in (counts or {}).items():
        check_number(name, value, integer=True, min=1, allow_none=True,
                     owner=owner)
    check_number('seed', seed, integer=True, min=0, owner=owner)
    for name, value in (flags or {}).items():
        check_bool(name, value, owner=owner)
    if selection not in SELECTIONS:
        raise ValueError(f'selection must be one of {SELECTIONS}, but '
                         f'got {selection!r}')


def long_tail_profile(available: Sequence[int],
                      imbalance_ratio: float,
                      n_max: Optional[int] = None,
                      max_per_class: Optional[int] = None,
                      subsample: bool = True) -> np.ndarray:
    """Per-class counts of a long-tailed subset, validated against the data.

    Args:
        available (Sequence[int]): Images per class in the source split.
        imbalance_ratio (float): ``n_max / n_min`` (>= 1).
        n_max (int, optional): Count of class 0 (the head class). Defaults to
            None, i.e. the largest entry of ``available``.
        max_per_class (int, optional): Cap applied after the profile.
            Defaults to None (no cap).
        subsample (bool): Whether images will be subsampled to the profile.
            If True, every class must hold at least its target count.
            Defaults to True.

    Returns:
        np.ndarray: int64 target count of every class.

    Raises:
        ValueError: On a ratio < 1, a bad ``n_max`` / ``max_per_class``, a
            class with no image, or (when subsampling) a class with fewer
            images than its target.
    """
    check_number('imbalance_ratio', imbalance_ratio, min=1)
    check_number('n_max', n_max, integer=True, min=1, allow_none=True)
    check_number('max_per_class', max_per_class, integer=True, min=1,
                 allow_none=True)
    available = np.asarray(available, dtype=np.int64)
    if available.size == 0:
        raise ValueError('the dataset has no class')
    empty = np.flatnonzero(available == 0)
    if empty.size:
        raise ValueError(f'classes {empty.tolist()} have zero images; a '
                         'long-tailed subset needs every class')
    if n_max is None:
        n_max = int(available.max())
    if int(n_max) != n_max or n_max < 1:
        raise ValueError(f'n_max must be a positive int, but got {n_max}')
    if max_per_class is not None and (int(max_per_class) != max_per_class
                                      or max_per_class < 1):
        raise ValueError(
            f'max_per_class must be a positive int, but got {max_per_class}')
    counts = exp_profile_counts(int(n_max), available.size, imbalance_ratio)
    if (counts < 1).any():
        zero = np.flatnonzero(counts < 1).tolist()
        raise ValueError(
            f'imbalance_ratio={imbalance_ratio} with n_max={n_max} gives '
            f'zero images to classes {zero}')
    if subsample:
        short = np.flatnonzero(available < counts)
        if short.size:
            c = int(short[0])
            raise ValueError(
                f'class {c} has {int(available[c])} images but the profile '
                f'(n_max={n_max}, imbalance_ratio={imbalance_ratio}) needs '
                f'{int(counts[c])} (classes short of images: '
                f'{short.tolist()})')
    if max_per_class is not None:
        counts = np.minimum(counts, int(max_per_class))
    return counts


def select_long_tail_indices(labels: Sequence[int],
                             counts: Sequence[int],
                             selection: str = 'ldam',
                             seed: int = 0) -> np.ndarray:
    """Indices of the images a long-tailed subset keeps.

    Args:
        labels (Sequence[int]): Label of every image of the source split.
        counts (Sequence[int]): Images to keep per class (at most what each
            class holds).
        selection (str): ``'ldam'``: the LDAM-DRW protocol, i.e. a numpy
            ``RandomState(seed)`` (same stream as ``np.random.seed(seed)``)
            shuffles each class's indices with ``shuffle`` in class order
            ``0..C-1`` and the first ``n_c`` are kept; ``'first'``: the first
            ``n_c`` images of each class in dataset order. Defaults to
            'ldam'.
        seed (int): Seed of the ``'ldam'`` selection. Defaults to 0.

    Returns:
        np.ndarray: int64 indices, class by class (class 0 first), within a
        class in selection order.
    """
    if selection not in SELECTIONS:
        raise ValueError(
            f'selection must be one of {SELECTIONS}, but got {selection!r}')
    check_number('seed', seed, integer=True, min=0)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    counts = np.asarray(counts, dtype=np.int64)
    available = counts_from_labels(labels, counts.size)
    if available.size > counts.size or (available < counts).any():
        raise ValueError(f'cannot keep {counts.tolist()} images per class '
                         f'from {available.tolist()}')
    # Indices grouped by class, in dataset order inside each class.
    order = np.argsort(labels, kind='stable')
    starts = np.concatenate([[0], np.cumsum(available)[:-1]])
    if selection == 'first':
        # Position of every sorted index inside its class block.
        pos = np.arange(labels.size) - np.repeat(starts, available)
        keep = pos < np.repeat(counts, available)
        return order[keep]
    rng = np.random.RandomState(seed)
    kept: List[np.ndarray] = []
    for c in range(counts.size):  # one shuffle per class, as in LDAM-DRW
        idx = order[starts[c]:starts[c] + available[c]].copy()
        rng.shuffle(idx)
        kept.append(idx[:counts[c]])
    if not kept:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate(kept).astype(np.int64)


@DATASETS.register_module()
class LongTailSubset:
    """Long-tailed subset of any MMPretrain dataset.

    Class ``c`` keeps ``n_c = int(n_max * (1 / ratio) ** (c / (C - 1)))``
    images (head classes are the low labels). ``metainfo['class_counts']``
    holds the per-class training counts (see :mod:`ltplug.datasets.utils`).

    Args:
        dataset (dict | Dataset): The balanced dataset to subsample, or its
            config. It must provide ``get_gt_labels()`` and ``metainfo``.
        imbalance_ratio (float): ``n_max / n_min`` (>= 1).
        n_max (int, optional): Count of the head class. Defaults to None,
            i.e. the wrapped dataset's largest class count. Set it (e.g.
            5000 for CIFAR-10) when wrapping a test split with
            ``subsample=False``.
        selection (str): ``'ldam'`` (LDAM-DRW protocol) or ``'first'``; see
            :func:`select_long_tail_indices`. Defaults to 'ldam'.
        seed (int): Seed of the ``'ldam'`` selection. Defaults to 0.
        subsample (bool): If False every image is kept (e.g. a balanced test
            split) and the profile is only reported as ``class_counts``.
            Defaults to True.
        max_per_class (int, optional): Cap on the images kept per class
            after the profile, for tiny runs. ``class_counts`` is then the
            capped profile, i.e. what a train split built with the same
            arguments keeps. Defaults to None.
        num_classes (int, optional): Number of classes. Defaults to None,
            i.e. ``len(metainfo['classes'])`` or ``max(label) + 1``.
        lazy_init (bool): Defer loading until :meth:`full_init`. Defaults to
            False.
    """

    def __init__(self,
                 dataset: Union[dict, Any],
                 imbalance_ratio: float,
                 n_max: Optional[int] = None,
                 selection: str = 'ldam',
                 seed: int = 0,
                 subsample: bool = True,
                 max_per_class: Optional[int] = None,
                 num_classes: Optional[int] = None,
                 lazy_init: bool = False) -> None:
        check_long_tail_args(
            type(self).__name__, imbalance_ratio, seed, selection,
            counts=dict(n_max=n_max, max_per_class=max_per_class,
                        num_classes=num_classes),
            flags=dict(subsample=subsample, lazy_init=lazy_init))
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        self.dataset = dataset
        self.imbalance_ratio = imbalance_ratio
        self.n_max = n_max
        self.selection = selection
        self.seed = seed
        self.subsample = subsample
        self.max_per_class = max_per_class
        self.num_classes = num_classes
        self._metainfo = copy.deepcopy(dict(getattr(dataset, 'metainfo',
                                                    {}) or {}))
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """Wrapped metainfo plus ``class_counts`` (training counts)."""
        return copy.deepcopy(self._metainfo)

    def full_init(self) -> None:
        """Load the wrapped dataset and select the subset."""
        if self._fully_initialized:
            return
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        if not hasattr(self.dataset, 'get_gt_labels'):
            raise ValueError(f'LongTailSubset needs a dataset with '
                             f'get_gt_labels(), but got '
                             f'{type(self.dataset).__name__}')
        labels = np.asarray(self.dataset.get_gt_labels(),
                            dtype=np.int64).reshape(-1)
        classes = self._metainfo.get('classes')
        num_classes = self.num_classes
        if num_classes is None:
            num_classes = len(classes) if classes else (
                int(labels.max()) + 1 if labels.size else 0)
        available = counts_from_labels(labels, num_classes)
        counts = long_tail_profile(available, self.imbalance_ratio,
                                   self.n_max, self.max_per_class,
                                   self.subsample)
        if self.subsample:
            keep = counts
        elif self.max_per_class is not None:
            keep = np.minimum(available, int(self.max_per_class))
        else:
            keep = None
        if keep is None:
            indices = np.arange(labels.size, dtype=np.int64)
        else:
            indices = select_long_tail_indices(labels, keep, self.selection,
                                               self.seed)
        self._indices = indices
        self._labels = labels[indices]
        self._metainfo[CLASS_COUNTS_KEY] = [int(n) for n in counts]
        self._fully_initialized = True

    @property
    def indices(self) -> np.ndarray:
        """Indices into the wrapped dataset of the kept images."""
        self.full_init()
        return self._indices

    def get_gt_labels(self) -> np.ndarray:
        """Labels of the kept images (int64 array)."""
        self.full_init()
        return self._labels.copy()

    def get_cat_ids(self, idx: int) -> List[int]:
        """Label of image ``idx`` as a one-element list."""
        self.full_init()
        return [int(self._labels[idx])]

    def get_data_info(self, idx: int) -> dict:
        """Annotation of image ``idx`` (from the wrapped dataset)."""
        self.full_init()
        return self.dataset.get_data_info(int(self._indices[idx]))

    def __len__(self) -> int:
        self.full_init()
        return int(self._indices.size)

    def __getitem__(self, idx: int) -> Any:
        self.full_init()
        return self.dataset[int(self._indices[idx])]

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(dataset={type(self.dataset).__name__}'
                f', imbalance_ratio={self.imbalance_ratio}, selection='
                f'{self.selection!r}, subsample={self.subsample}, size='
                f'{len(self) if self._fully_initialized else "lazy"})')
