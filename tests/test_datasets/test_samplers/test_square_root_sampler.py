# Copyright (c) ltplug contributors. All rights reserved.
import numpy as np
import pytest
from mmpretrain.registry import DATA_SAMPLERS

COUNTS = [400, 100, 25, 4]  # sqrt: 20, 10, 5, 2 (sum 37)


def build(dataset, **kwargs):
    cfg = dict(type='SquareRootSampler', seed=0, rank=0, world_size=1)
    cfg.update(kwargs)
    return DATA_SAMPLERS.build(cfg, default_args=dict(dataset=dataset))


@pytest.fixture
def labels(make_labels):
    return make_labels(COUNTS, shuffle_seed=3)


@pytest.mark.parametrize('q,expected', [
    (0.5, [20 / 37, 10 / 37, 5 / 37, 2 / 37]),
    (1, [400 / 529, 100 / 529, 25 / 529, 4 / 529]),
    (0, [0.25] * 4),
])
def test_class_frequencies(toy_dataset, labels, q, expected):
    s = build(toy_dataset(labels), q=q, num_samples=20000)
    np.testing.assert_allclose(s.class_probs, expected)
    freq = np.bincount(labels[list(s)], minlength=4) / 20000
    # 20,000 draws: standard error <= 0.0036
    np.testing.assert_allclose(freq, expected, atol=0.015)


def test_default_length_and_uniform_within_class(toy_dataset, labels):
    s = build(toy_dataset(labels))
    assert len(s) == 529
    s = build(toy_dataset(labels), num_samples=37000)
    idx = np.array(list(s))
    # class 3 (4 images) gets 2/37 of 37,000 = 2,000 draws: 500 per image
    per_img = np.bincount(idx, minlength=529)[labels == 3]
    assert np.all(np.abs(per_img - 500) < 100)


def test_empty_class_gets_nothing(toy_dataset, labels):
    s = build(toy_dataset(labels, num_classes=6), num_samples=5000)
    assert s.class_probs[4] == s.class_probs[5] == 0
    assert np.bincount(labels[list(s)], minlength=6)[4:].sum() == 0


@pytest.mark.parametrize('q,error,message', [
    (-0.5, ValueError, 'q must be >= 0, but got -0.5'),
    (float('nan'), ValueError, 'q must be a finite number, but got nan'),
    ('0.5', TypeError, "q must be a number, but got '0.5' \\(str\\)"),
    (True, TypeError, 'q must be a number, but got True'),
])
def test_bad_q(toy_dataset, labels, q, error, message):
    with pytest.raises(error, match=message):
        build(toy_dataset(labels), q=q)


def test_numpy_q_accepted(toy_dataset, labels):
    assert build(toy_dataset(labels), q=np.float32(0.5)).q == 0.5
