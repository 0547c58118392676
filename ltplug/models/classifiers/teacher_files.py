# Copyright (c) ltplug contributors. All rights reserved.
"""Whether a distillation teacher's files exist, so that a student can be
built for prediction without them (SSD stage III, CBD stage 2)."""
import os.path as osp
from typing import Any, Optional

__all__ = ['missing_teacher_file']


def missing_teacher_file(name: str, config: Any,
                         checkpoint: Any) -> Optional[str]:
    """The message for a teacher whose config or checkpoint file is absent.

    Args:
        name (str): The teacher's name, used in the message.
        config (str | dict): The teacher's config file or model dict (a
            dict needs no file).
        checkpoint (str): The teacher's checkpoint path.

    Returns:
        str | None: ``'<name>: config file "<path>" does not exist'`` (or
        ``checkpoint file``), or None when every file exists.
    """
    if isinstance(config, str) and not osp.isfile(config):
        return f'{name}: config file "{config}" does not exist'
    if isinstance(checkpoint, str) and not osp.isfile(checkpoint):
        return f'{name}: checkpoint file "{checkpoint}" does not exist'
    return None
