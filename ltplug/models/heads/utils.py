# Copyright (c) ltplug contributors. All rights reserved.
"""The argument checks and the default ``fc`` init shared by ltplug's
classification heads."""
from typing import Any, Tuple

from ltplug.utils.validate import check_number

__all__ = ['FC_INIT', 'check_head_size']

#: the default ``init_cfg`` of every ltplug head's ``fc`` (MMEngine's
#: ``BaseModule`` keeps a deep copy, so the dict is never changed)
FC_INIT = dict(type='Normal', layer='Linear', std=0.01)


def check_head_size(owner: str, num_classes: Any,
                    in_channels: Any) -> Tuple[int, int]:
    """Check a head's ``num_classes`` and ``in_channels``.

    Args:
        owner (str): The head's class name; messages start with it.
        num_classes: The number of classes (an int >= 1; numpy ints are
            accepted).
        in_channels: The feature width (an int >= 1).

    Returns:
        tuple[int, int]: ``(num_classes, in_channels)`` as Python ints.

    Raises:
        TypeError: For a value that is not an int (e.g. a quoted string),
            quoting it.
        ValueError: For a value < 1, quoting it.
    """
    num_classes = check_number('num_classes', num_classes, integer=True,
                               min=1, owner=owner)
    in_channels = check_number('in_channels', in_channels, integer=True,
                               min=1, owner=owner)
    return num_classes, in_channels
