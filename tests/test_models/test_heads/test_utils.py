# Copyright (c) ltplug contributors. All rights reserved.
"""The argument check and default init shared by ltplug's heads."""
import numpy as np
import pytest
from mmpretrain.registry import MODELS

from ltplug.models.heads.utils import FC_INIT, check_head_size


def test_check_head_size_returns_ints_and_names_the_head():
    got = check_head_size('MyHead', np.int64(3), 8)
    assert got == (3, 8) and type(got[0]) is int
    with pytest.raises(TypeError, match=r"^MyHead: num_classes must be an "
                       r"int, but got '3'"):
        check_head_size('MyHead', '3', 8)
    with pytest.raises(ValueError,
                       match='^MyHead: in_channels must be >= 1, but got 0'):
        check_head_size('MyHead', 3, 0)


@pytest.mark.parametrize('head', ['CosineClsHead', 'LWSHead',
                                  'TauNormClsHead'])
def test_default_init_is_copied_not_shared(head):
    module = MODELS.build(dict(type=head, num_classes=4, in_channels=8))
    assert module.init_cfg == FC_INIT
    module.init_cfg['std'] = 1.0
    assert FC_INIT == dict(type='Normal', layer='Linear', std=0.01)
    again = MODELS.build(dict(type=head, num_classes=4, in_channels=8))
    assert again.init_cfg['std'] == 0.01
