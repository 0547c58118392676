# Copyright (c) ltplug contributors. All rights reserved.
from mmpretrain.registry import DATASETS

from .official_lt_list_dataset import OfficialLTListDataset


@DATASETS.register_module()
class INaturalist2018(OfficialLTListDataset):
    """iNaturalist 2018 (lists of classifier-balancing).

    8142 classes, label = the official ``category_id``. Splits and lists,
    under ``data_root``:

    - ``'train'``: ``iNaturalist18_train.txt``, 437,513 images (1000 .. 2
      per class), e.g. ``train_val2018/Plantae/7291/<hash>.jpg 7291``;
    - ``'val'``: ``iNaturalist18_val.txt``, 24,426 images (the official
      val2018, 3 per class), which is also the test set: there is no
      ``'test'`` split.

    Val takes ``metainfo['class_counts']`` from ``iNaturalist18_train.txt``
    (see :class:`OfficialLTListDataset`).

    Args:
        data_root (str): Folder holding the lists and ``train_val2018/``.
            Defaults to ''.
        split (str): ``'train'`` or ``'val'``. Defaults to 'train'.
        **kwargs: Other arguments of :class:`OfficialLTListDataset`
            (``ann_file``, ``class_counts_file``) and of
            :class:`LTListDataset`.
    """

    NUM_CLASSES = 8142
    LIST_FILES = dict(
        train='iNaturalist18_train.txt', val='iNaturalist18_val.txt')
    SPLIT_HINT = (" (iNaturalist 2018 has no test split: the official val "
                  "set is the test set, use split='val')")
