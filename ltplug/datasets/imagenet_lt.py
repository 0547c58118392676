# Copyright (c) ltplug contributors. All rights reserved.
from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
from mmpretrain.registry import DATASETS

from .official_lt_list_dataset import OfficialLTListDataset


@DATASETS.register_module()
class ImageNetLT(OfficialLTListDataset):
    """ImageNet-LT (Liu et al., CVPR 2019; lists of classifier-balancing).

    1000 classes, labels = sorted-WNID indices (MMPretrain's ImageNet class
    order, whose names are the default ``classes``). Splits and lists,
    under ``data_root``:

    - ``'train'``: ``ImageNet_LT_train.txt``, 115,846 images (1280 .. 5 per
      class), e.g. ``train/n01440764/n01440764_762.JPEG 0``;
    - ``'val'``: ``ImageNet_LT_val.txt``, 20,000 images (20 per class, from
      ImageNet train), for model selection;
    - ``'test'``: ``ImageNet_LT_test.txt``, 50,000 images (the ILSVRC-2012
      val set, 50 per class, ``val/<wnid>/ILSVRC2012_val_*.JPEG``).

    Val and test take ``metainfo['class_counts']`` from
    ``ImageNet_LT_train.txt`` (see :class:`OfficialLTListDataset`).

    Args:
        data_root (str): The ImageNet-LT folder: the three lists and
            ILSVRC-2012's ``train/`` and ``val/`` image folders. Defaults
            to ''.
        split (str): ``'train'``, ``'val'`` or ``'test'``. Defaults to
            'train'.
        **kwargs: Other arguments of :class:`OfficialLTListDataset`
            (``ann_file``, ``class_counts_file``) and of
            :class:`LTListDataset`.
    """

    NUM_CLASSES = 1000
    LIST_FILES = dict(
        train='ImageNet_LT_train.txt',
        val='ImageNet_LT_val.txt',
        test='ImageNet_LT_test.txt')
    METAINFO = {'classes': IMAGENET_CATEGORIES}
