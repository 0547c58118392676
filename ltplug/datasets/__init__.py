# Copyright (c) ltplug contributors. All rights reserved.
from .utils import (check_class_counts, counts_from_labels, exp_profile_counts,
                    get_class_counts)

__all__ = [
    'check_class_counts', 'counts_from_labels', 'exp_profile_counts',
    'get_class_counts'
]
