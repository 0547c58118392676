# Copyright (c) ltplug contributors. All rights reserved.
import pytest
import torch
from mmpretrain.registry import MODELS

from ltplug.models.utils.batch_augments.base_batch_augment import (
    BaseBatchAugment, check_prob, check_size)


def test_call_draws_params_unless_given_and_repr_lists_its_keys():
    op = MODELS.build(dict(type='BatchRandomFlip', prob=1.))
    x = torch.arange(6.).view(1, 1, 2, 3)
    assert torch.equal(op(x), x.flip(3))
    assert torch.equal(op(x, dict(flip=torch.tensor([False]))), x)
    assert repr(op) == "BatchRandomFlip(prob=1.0, direction='horizontal')"


def test_the_base_has_no_default_ops():
    with pytest.raises(NotImplementedError):
        BaseBatchAugment()(torch.zeros(1, 3, 2, 2))


def test_checks_quote_the_bad_value():
    assert check_prob('Op', 0.25) == 0.25
    with pytest.raises(ValueError, match=r'Op: prob .* -0\.5'):
        check_prob('Op', -0.5)
    assert check_size('Op', 'scale', 8) == (8, 8)
    assert check_size('Op', 'scale', [4, 6]) == (4, 6)
    with pytest.raises(ValueError, match=r'scale .* \(4, 0\)'):
        check_size('Op', 'scale', (4, 0))
