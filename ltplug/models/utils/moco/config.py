# Copyright (c) ltplug contributors. All rights reserved.
"""The MoCo settings of a classifier config, checked once."""
from typing import Optional

from ltplug.utils.validate import check_bool, check_number

__all__ = ['MOCO_MODES', 'MOCO_KEYS', 'check_moco_cfg']

#: NCL's MoCo switch: ``'official'`` reproduces the official code (EMA
#: after the forward, ``E`` updates per step, key heads never updated);
#: ``'corrected'`` is MoCo as published (one EMA update before the key
#: forward, key heads included, EMA copies started from the online ones)
MOCO_MODES = ('official', 'corrected')

#: the keys of a ``moco=dict(...)`` setting
MOCO_KEYS = ('queue_size', 'dim', 'temperature', 'momentum', 'loss_weight',
             'feat_dim', 'shuffle_bn')


def check_moco_cfg(moco: dict, head: dict, owner: str) -> dict:
    """Validate a ``moco=dict(...)`` setting and fill in its defaults.

    Args:
        moco (dict): ``queue_size`` (K) and ``dim`` (key width) are
            required; ``temperature`` (0.2), ``momentum`` (0.999),
            ``loss_weight`` (1.0), ``feat_dim`` (the head's
            ``in_channels``) and ``shuffle_bn`` (True) are optional.
        head (dict): The classification head config (for ``feat_dim``).
        owner (str): The classifier's name, for the error messages.

    Returns:
        dict: Every key of :data:`MOCO_KEYS`, checked (floats, ints and a
        bool).
    """
    unknown = set(moco) - set(MOCO_KEYS)
    if unknown:
        raise ValueError(f'unknown moco keys {sorted(unknown)}; '
                         f'expected a subset of {sorted(MOCO_KEYS)}')
    for key in ('queue_size', 'dim'):
        if key not in moco:
            raise ValueError(f"moco needs '{key}', but got {moco}")
    feat_dim: Optional[int] = moco.get('feat_dim', head.get('in_channels'))
    if feat_dim is None:
        raise ValueError("moco needs 'feat_dim' when the head config has "
                         'no in_channels')

    def number(key: str, default=None, **limits):
        return check_number(f'moco.{key}', moco.get(key, default),
                            owner=owner, **limits)

    return dict(
        temperature=float(number('temperature', 0.2, min=0.,
                                 min_inclusive=False)),
        momentum=float(number('momentum', 0.999, min=0., max=1.)),
        loss_weight=float(number('loss_weight', 1., min=0.)),
        shuffle_bn=check_bool('moco.shuffle_bn', moco.get('shuffle_bn', True),
                              owner=owner),
        dim=int(number('dim', integer=True, min=1)),
        queue_size=int(number('queue_size', integer=True, min=1)),
        feat_dim=feat_dim)
