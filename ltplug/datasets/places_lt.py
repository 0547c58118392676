# Copyright (c) ltplug contributors. All rights reserved.
from mmpretrain.registry import DATASETS

from .official_lt_list_dataset import OfficialLTListDataset


@DATASETS.register_module()
class PlacesLT(OfficialLTListDataset):
    """Places-LT (Liu et al., CVPR 2019; lists of classifier-balancing).

    365 classes (Places365-Standard, alphabetical). Splits and lists, under
    ``data_root``:

    - ``'train'``: ``Places_LT_train.txt``, 62,500 images (4980 .. 5 per
      class; 131 / 163 / 71 many / medium / few classes), e.g.
      ``train/airfield/00004851.jpg 0``;
    - ``'val'``: ``Places_LT_val.txt``, 7,300 images (20 per class, from
      Places365 train);
    - ``'test'``: ``Places_LT_test.txt``, 36,500 images (100 per class, the
      Places365-Standard val set, ``val/<class>/Places365_val_*.jpg``).

    The training counts of val and test (``metainfo['class_counts']``) are
    those of ``Places_LT_train.txt``, as :class:`OfficialLTListDataset`
    reads them.

    Args:
        data_root (str): The Places365-Standard "easy format" folder
            (``train/``, ``val/``) with the Places-LT lists added. Defaults
            to ''.
        split (str): One of ``'train'``, ``'val'``, ``'test'``. Defaults
            to 'train'.
        **kwargs: Other arguments of :class:`OfficialLTListDataset` (and
            of :class:`LTListDataset`).
    """

    NUM_CLASSES = 365
    LIST_FILES = dict(
        train='Places_LT_train.txt',
        val='Places_LT_val.txt',
        test='Places_LT_test.txt')
