# Copyright (c) ltplug contributors. All rights reserved.
"""Every ltplug loss checks the type and range of its numbers and names the
argument (a quoted ``--cfg-options`` value arrives as a string)."""
import numpy as np
import pytest
from mmpretrain.registry import MODELS

DEFAULTS = {
    'BalancedSoftmaxLoss': dict(),
    'CosineFeatureDistillLoss': dict(),
    'KDLoss': dict(),
    'LabelAwareMoCoLoss': dict(),
    'NCLLoss': dict(hcm_n=3),
}

CASES = [
    ('BalancedSoftmaxLoss', 'tau', '1.0', TypeError,
     "tau must be a number, but got '1.0' \\(str\\)"),
    ('BalancedSoftmaxLoss', 'tau', -1, ValueError, 'tau must be >= 0'),
    ('BalancedSoftmaxLoss', 'tau', float('nan'), ValueError,
     'tau must be a finite number'),
    ('BalancedSoftmaxLoss', 'loss_weight', '2', TypeError,
     "loss_weight must be a number, but got '2'"),
    ('BalancedSoftmaxLoss', 'loss_weight', True, TypeError,
     'loss_weight must be a number, but got True'),
    ('CosineFeatureDistillLoss', 'loss_weight', '100', TypeError,
     "loss_weight must be a number, but got '100'"),
    ('CosineFeatureDistillLoss', 'eps', 0, ValueError,
     'eps must be > 0, but got 0.0'),
    ('KDLoss', 'temperature', '2', TypeError,
     "temperature must be a number, but got '2'"),
    ('KDLoss', 'temperature', 0, ValueError, 'temperature must be > 0'),
    ('KDLoss', 'loss_weight', -1, ValueError, 'loss_weight must be >= 0'),
    ('LabelAwareMoCoLoss', 'temperature', '0.2', TypeError,
     "temperature must be a number, but got '0.2'"),
    ('LabelAwareMoCoLoss', 'loss_weight', None, TypeError,
     'loss_weight must be a number, but got None'),
    ('NCLLoss', 'hcm_n', '30', TypeError,
     "hcm_n must be an int, but got '30'"),
    ('NCLLoss', 'hcm_n', 3.0, TypeError, 'hcm_n must be an int, but got 3.0'),
    ('NCLLoss', 'hcm_n', True, TypeError,
     'hcm_n must be an int, but got True'),
    ('NCLLoss', 'ce_ratio', '1', TypeError,
     "ce_ratio must be a number, but got '1'"),
    ('NCLLoss', 'diversity_factor_hcm', -0.5, ValueError,
     'diversity_factor_hcm must be >= 0'),
    ('NCLLoss', 'eps', 0., ValueError, 'eps must be > 0'),
    ('NCLLoss', 'loss_weight', '1', TypeError,
     "loss_weight must be a number, but got '1'"),
]


@pytest.mark.parametrize('loss,arg,value,error,message', CASES,
                         ids=[f'{c[0]}-{c[1]}-{c[2]!r}' for c in CASES])
def test_bad_number_named(loss, arg, value, error, message):
    with pytest.raises(error, match=f'^{loss}: {message}'):
        MODELS.build(dict(type=loss, **{**DEFAULTS[loss], arg: value}))


@pytest.mark.parametrize('loss,arg,value', [
    ('BalancedSoftmaxLoss', 'tau', np.float32(0.5)),
    ('KDLoss', 'temperature', np.int64(4)),
    ('NCLLoss', 'hcm_n', np.int64(3)),
    ('CosineFeatureDistillLoss', 'loss_weight', 100),
])
def test_numpy_and_int_numbers_accepted(loss, arg, value):
    module = MODELS.build(dict(type=loss, **{**DEFAULTS[loss], arg: value}))
    got = getattr(module, arg)
    assert got == value and type(got) in (int, float)
