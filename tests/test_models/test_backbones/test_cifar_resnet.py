# Copyright (c) ltplug contributors. All rights reserved.
import pytest
import torch
from mmpretrain.registry import MODELS


@pytest.mark.parametrize('depth,blocks', [(20, 3), (32, 5), (56, 9)])
def test_depths_and_output(depth, blocks):
    model = MODELS.build(dict(type='CIFARResNet', depth=depth))
    assert [len(getattr(model, f'layer{i}')) for i in (1, 2, 3)] == [blocks] * 3
    out = model(torch.randn(2, 3, 32, 32))
    assert len(out) == 1 and out[0].shape == (2, 64, 8, 8)


def test_resnet32_size_matches_the_literature():
    model = MODELS.build(dict(type='CIFARResNet', depth=32))
    n = sum(p.numel() for p in model.parameters())
    # ~0.46 M: 0.464 M with zero-pad shortcuts, + two 1x1 projections here
    assert 0.45e6 < n < 0.48e6


def test_bad_depth_is_refused():
    with pytest.raises(KeyError, match='invalid depth 33'):
        MODELS.build(dict(type='CIFARResNet', depth=33))


def test_frozen_stages_stop_gradients():
    model = MODELS.build(dict(type='CIFARResNet', frozen_stages=3))
    model.train()
    assert not any(p.requires_grad for p in model.parameters())
    assert not model.layer3[0].bn1.training
