# Copyright (c) ltplug contributors. All rights reserved.
from . import samplers  # noqa: F401
from .cifar10_lt import CIFAR10LT
from .cifar100_lt import CIFAR100LT
from .imagenet_lt import ImageNetLT
from .inaturalist2018 import INaturalist2018
from .list_file import parse_list_file, parse_list_lines
from .long_tail_subset import (LongTailSubset, long_tail_profile,
                               select_long_tail_indices)
from .lt_list_dataset import LTListDataset
from .places_lt import PlacesLT
from .samplers import *  # noqa: F401,F403
from .utils import (check_class_counts, counts_from_labels, exp_profile_counts,
                    get_class_counts)

__all__ = [
    'check_class_counts', 'counts_from_labels', 'exp_profile_counts',
    'get_class_counts', 'LongTailSubset', 'long_tail_profile',
    'select_long_tail_indices', 'CIFAR10LT', 'CIFAR100LT', 'LTListDataset',
    'ImageNetLT', 'PlacesLT', 'INaturalist2018', 'parse_list_file',
    'parse_list_lines'
]
