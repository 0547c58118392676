# Copyright (c) ltplug contributors. All rights reserved.
"""The argument checks of ltplug/datasets/transforms/utils.py, alone and
through the transforms that use them (built from the registry)."""
import pytest
from mmpretrain.registry import TRANSFORMS

from ltplug.datasets.transforms.utils import check_choice, check_positive_int


@pytest.mark.parametrize('value', [0, -3, 2.0, '4', None])
def test_check_positive_int_rejects(value):
    with pytest.raises(ValueError, match=rf'^T: n must be a positive int, '
                       rf'but got {value!r}$'.replace('.', r'\.')):
        check_positive_int('T', 'n', value)


def test_check_positive_int_and_choice_accept():
    assert check_positive_int('T', 'n', 7) == 7
    assert check_choice('T', 'c', 'b', ('a', 'b')) == 'b'


def test_check_choice_rejects():
    with pytest.raises(ValueError, match=r"^T: c must be one of \('a', "
                       r"'b'\), but got 'B'$"):
        check_choice('T', 'c', 'B', ('a', 'b'))


@pytest.mark.parametrize('cfg,message', [
    (dict(type='ClippedCutout', length=0),
     r'^ClippedCutout: length must be a positive int, but got 0$'),
    (dict(type='ClippedCutout', n_holes=1.5),
     r'^ClippedCutout: n_holes must be a positive int, but got 1\.5$'),
    (dict(type='DistortedBoundingBoxCrop', max_attempts=0),
     r'^DistortedBoundingBoxCrop: max_attempts must be a positive int, but '
     r'got 0$'),
    (dict(type='ApplyInBGR', transforms=[], channel_order='RGB'),
     r"^ApplyInBGR: channel_order must be one of \('rgb', 'bgr'\), but got "
     r"'RGB'$"),
    (dict(type='TimmPosterize', bits=4, rounding='round'),
     r"^TimmPosterize: rounding must be one of \(.*\), but got 'round'$"),
])
def test_transforms_report_the_bad_value(cfg, message):
    with pytest.raises(ValueError, match=message):
        TRANSFORMS.build(cfg)
