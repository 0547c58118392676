# Copyright (c) ltplug contributors. All rights reserved.
"""The argument and class-prior helpers the losses share."""
import math

import pytest
import torch
import torch.nn as nn

from ltplug.models.losses.utils import (check_temperature_and_weight,
                                        register_class_prior,
                                        store_class_prior)
from mmpretrain.registry import MODELS


def test_temperature_and_weight_are_checked_with_the_owner_named():
    assert check_temperature_and_weight('L', 2, 0) == (2, 0)
    with pytest.raises(ValueError, match=r'L.*temperature.*0'):
        check_temperature_and_weight('L', 0, 1.)
    with pytest.raises(ValueError, match=r'L.*loss_weight.*-1'):
        check_temperature_and_weight('L', 1., -1)


def test_class_prior_buffers_stay_out_of_checkpoints():
    module = nn.Module()
    register_class_prior(module)
    assert module.class_counts.numel() == 0
    store_class_prior(module, [100, 10, 1])
    assert module.class_counts.dtype == torch.long
    assert module.class_counts.tolist() == [100, 10, 1]
    assert torch.allclose(module.log_prior,
                          torch.tensor([math.log(100), math.log(10), 0.]))
    assert module.state_dict() == {}


@pytest.mark.parametrize('cfg', [
    dict(type='BalancedSoftmaxLoss', class_counts=[50, 5, 2]),
    dict(type='NCLLoss', hcm_n=2, class_counts=[50, 5, 2]),
])
def test_both_count_aware_losses_keep_the_prior_out_of_state_dict(cfg):
    loss = MODELS.build(cfg)
    assert loss.class_counts.tolist() == [50, 5, 2]
    assert 'class_counts' not in loss.state_dict()
    assert 'log_prior' not in loss.state_dict()
