# Copyright (c) ltplug contributors. All rights reserved.
import pickle
from typing import List, Optional

import numpy as np
from mmengine.fileio import exists, get, join_path
from mmpretrain.datasets import CIFAR10
from mmpretrain.datasets.utils import check_md5 as _md5_matches
from mmpretrain.registry import DATASETS

from .long_tail_subset import (check_long_tail_args, long_tail_profile,
                               select_long_tail_indices)
from .utils import CLASS_COUNTS_KEY, counts_from_labels


@DATASETS.register_module()
class CIFAR10LT(CIFAR10):
    """CIFAR-10-LT: the exponential long-tailed profile of Cui et al. /
    LDAM-DRW over MMPretrain's ``CIFAR10``.

    The train split keeps ``n_c = int(n_max * (1 / ratio) ** (c / (C - 1)))``
    images of class ``c`` (``n_max`` = 5000); the test split is the full
    balanced test set. Both splits set ``metainfo['class_counts']`` to the
    training counts.

    Unlike the stock class, the dataset is never downloaded when its files
    are present: a file whose md5 does not match raises an error (with
    ``check_md5=True``) or is accepted as is (``check_md5=False``, e.g. for
    a re-encoded local copy). Downloads only happen for missing files when
    ``download=True``.

    Args:
        data_root (str): Folder holding ``cifar-10-batches-py``.
        split (str): ``'train'`` or ``'test'``. Defaults to 'train'.
        imbalance_ratio (float): ``n_max / n_min`` (>= 1). Defaults to 100.
        selection (str): ``'ldam'`` (numpy seed ``seed``, per-class shuffle,
            LDAM-DRW protocol) or ``'first'`` (first ``n_c`` in file order).
            Defaults to 'ldam'.
        seed (int): Seed of the ``'ldam'`` selection. Defaults to 0.
        max_per_class (int, optional): For tiny runs: caps the images per
            class after the profile (train) or the balanced per-class count
            (test); ``class_counts`` becomes the capped training profile.
            Defaults to None.
        check_md5 (bool): Verify the official md5 of the files. Set False
            for a local copy whose bytes differ (e.g. a JPEG round trip).
            Defaults to True.
        download (bool): Download the dataset when its files are missing.
            Defaults to False.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.CIFAR10`
            (``pipeline``, ``metainfo``, ``test_mode``, ``lazy_init``, ...).
    """

    #: Head-class count of the training profile.
    TRAIN_N_MAX = 5000

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 imbalance_ratio: float = 100.,
                 selection: str = 'ldam',
                 seed: int = 0,
                 max_per_class: Optional[int] = None,
                 check_md5: bool = True,
                 download: bool = False,
                 **kwargs) -> None:
        # Validate early, before any file is read.
        check_long_tail_args(
            type(self).__name__, imbalance_ratio, seed, selection,
            counts=dict(max_per_class=max_per_class),
            flags=dict(check_md5=check_md5, download=download))
        profile = long_tail_profile(
            [self.TRAIN_N_MAX] * len(self.METAINFO['classes']),
            imbalance_ratio, self.TRAIN_N_MAX, max_per_class)
        self.imbalance_ratio = imbalance_ratio
        self.selection = selection
        self.seed = seed
        self.max_per_class = max_per_class
        self.check_md5 = check_md5
        super().__init__(
            data_root=data_root, split=split, download=download, **kwargs)
        # Known before loading (``lazy_init``); equal to what is kept.
        self._metainfo.setdefault(CLASS_COUNTS_KEY,
                                  [int(n) for n in profile])

    def load_data_list(self) -> List[dict]:
        """Load the split, then keep the long-tailed subset (train)."""
        data_list = super().load_data_list()
        labels = np.fromiter((d['gt_label'] for d in data_list),
                             dtype=np.int64,
                             count=len(data_list))
        num_classes = len(self.METAINFO['classes'])
        available = counts_from_labels(labels, num_classes)
        if self.split == 'train':
            counts = long_tail_profile(available, self.imbalance_ratio,
                                       self.TRAIN_N_MAX, self.max_per_class)
            keep = counts
        else:
            counts = long_tail_profile([self.TRAIN_N_MAX] * num_classes,
                                       self.imbalance_ratio,
                                       self.TRAIN_N_MAX, self.max_per_class)
            keep = None if self.max_per_class is None else np.minimum(
                available, self.max_per_class)
        self._metainfo[CLASS_COUNTS_KEY] = [int(n) for n in counts]
        if keep is None:
            return data_list
        indices = select_long_tail_indices(labels, keep, self.selection,
                                           self.seed)
        return [data_list[i] for i in indices]

    def _file_ok(self, path: str, md5: Optional[str]) -> bool:
        """Whether ``path`` exists (and matches ``md5`` when checked)."""
        if not exists(path):
            return False
        if self.check_md5 and md5 is not None and not _md5_matches(
                path, md5):
            raise RuntimeError(
                f'{path} exists but its md5 is not the official {md5}. '
                f'{type(self).__name__} never downloads over existing '
                'files; pass check_md5=False to use this local copy.')
        return True

    def _check_integrity(self) -> bool:
        """True when every file exists; raises on an md5 mismatch when
        ``check_md5`` is set (instead of downloading over the files)."""
        root = self.data_prefix['root']
        return all(
            self._file_ok(join_path(root, self.base_folder, name), md5)
            for name, md5 in self.train_list + self.test_list)

    def _load_meta(self) -> None:
        """Load the class names (md5 checked only with ``check_md5``)."""
        root = self.data_prefix['root']
        path = join_path(root, self.base_folder, self.meta['filename'])
        if not self._file_ok(path, self.meta.get('md5')):
            raise RuntimeError(f'{path} not found')
        data = pickle.loads(get(path), encoding='latin1')
        self._metainfo.setdefault('classes', data[self.meta['key']])
