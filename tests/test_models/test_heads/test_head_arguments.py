# Copyright (c) ltplug contributors. All rights reserved.
"""Every ltplug head checks the type and range of its numbers and names the
argument (a quoted ``--cfg-options`` value arrives as a string)."""
import numpy as np
import pytest
from mmpretrain.registry import MODELS

HEADS = ['CosineClsHead', 'LWSHead', 'TauNormClsHead']
BASE = dict(num_classes=4, in_channels=8)

CASES = [(head, *case) for head in HEADS for case in [
    ('num_classes', '4', TypeError,
     "num_classes must be an int, but got '4' \\(str\\); a quoted value"),
    ('num_classes', 4.0, TypeError, 'num_classes must be an int, but got 4.0'),
    ('num_classes', True, TypeError,
     'num_classes must be an int, but got True'),
    ('num_classes', 0, ValueError, 'num_classes must be >= 1, but got 0'),
    ('in_channels', '8', TypeError, "in_channels must be an int, but got '8'"),
    ('in_channels', -1, ValueError, 'in_channels must be >= 1'),
]] + [
    ('CosineClsHead', 'scale', '16', TypeError,
     "scale must be a number, but got '16'"),
    ('CosineClsHead', 'scale', 0., ValueError, 'scale must be > 0'),
    ('CosineClsHead', 'eps', float('nan'), ValueError,
     'eps must be a finite number'),
    ('TauNormClsHead', 'tau', '1.0', TypeError,
     "tau must be a number, but got '1.0'"),
    ('TauNormClsHead', 'tau', -1, ValueError, 'tau must be >= 0'),
    # 'False' is true to bool(): a learnable scale / frozen fc would follow
    ('CosineClsHead', 'learnable_scale', 'False', TypeError,
     "learnable_scale must be True or False, but got 'False'"),
    ('CosineClsHead', 'bias', 1, TypeError, 'bias must be True or False'),
    ('LWSHead', 'freeze_fc', 'True', TypeError,
     "freeze_fc must be True or False, but got 'True'"),
    ('TauNormClsHead', 'use_bias', 'no', TypeError,
     'use_bias must be True or False'),
]


@pytest.mark.parametrize('head,arg,value,error,message', CASES,
                         ids=[f'{c[0]}-{c[1]}-{c[2]!r}' for c in CASES])
def test_bad_number_named(head, arg, value, error, message):
    with pytest.raises(error, match=f'^{head}: {message}'):
        MODELS.build(dict(type=head, **{**BASE, arg: value}))


@pytest.mark.parametrize('head', HEADS)
def test_numpy_ints_accepted(head):
    module = MODELS.build(
        dict(type=head, num_classes=np.int64(4), in_channels=np.int32(8)))
    assert module.num_classes == 4 and type(module.num_classes) is int
    assert module.fc.weight.shape == (4, 8)
