# Copyright (c) ltplug contributors. All rights reserved.
from mmpretrain.datasets import CIFAR100
from mmpretrain.registry import DATASETS

from .cifar10_lt import CIFAR10LT


@DATASETS.register_module()
class CIFAR100LT(CIFAR10LT):
    """CIFAR-100-LT: the exponential long-tailed profile over MMPretrain's
    ``CIFAR100`` (``n_max`` = 500 training images in class 0).

    Same behaviour and arguments as :class:`CIFAR10LT` (subsampled train
    split, full balanced test split, ``metainfo['class_counts']`` = training
    counts on both, ``check_md5``, no download over existing files);
    ``data_root`` holds ``cifar-100-python``. Ratio 100 keeps 10,847
    training images (500 .. 5 per class).

    Args:
        data_root (str): Folder holding ``cifar-100-python``.
        **kwargs: Arguments of :class:`CIFAR10LT`.
    """

    TRAIN_N_MAX = 500
    base_folder = CIFAR100.base_folder
    url = CIFAR100.url
    filename = CIFAR100.filename
    tgz_md5 = CIFAR100.tgz_md5
    train_list = CIFAR100.train_list
    test_list = CIFAR100.test_list
    meta = CIFAR100.meta
    METAINFO = CIFAR100.METAINFO
