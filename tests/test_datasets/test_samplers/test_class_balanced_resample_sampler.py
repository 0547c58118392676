# Copyright (c) ltplug contributors. All rights reserved.
import numpy as np
import pytest
from mmpretrain.registry import DATA_SAMPLERS

COUNTS = [400, 200, 100, 50, 25, 10]  # N = 785, C = 6


def build(dataset, **kwargs):
    cfg = dict(
        type='ClassBalancedResampleSampler', seed=0, rank=0, world_size=1)
    cfg.update(kwargs)
    return DATA_SAMPLERS.build(cfg, default_args=dict(dataset=dataset))


@pytest.fixture
def labels(make_labels):
    return make_labels(COUNTS, shuffle_seed=2)


def test_ratios_by_hand(toy_dataset, labels):
    s = build(toy_dataset(labels))
    np.testing.assert_allclose(s.ratios, [785 / (6 * n) for n in COUNTS])


def test_constant_length_and_near_uniform_classes(toy_dataset, labels):
    s = build(toy_dataset(labels))
    assert len(s) == 785
    total = np.zeros(6)
    epochs = 30
    for epoch in range(epochs):
        s.set_epoch(epoch)
        idx = list(s)
        assert len(idx) == 785
        total += np.bincount(labels[idx], minlength=6)
    share = total / total.sum()
    # stated tolerance: every class within 5% (relative) of 1/6 over 30
    # epochs (instance-balanced would give 0.51 for class 0, 0.013 for 5)
    np.testing.assert_allclose(share, 1 / 6, rtol=0.05)


def test_each_image_of_a_class_equally_likely(toy_dataset, labels):
    s = build(toy_dataset(labels), num_samples=785 * 20)
    idx = np.array(list(s))
    per_img = np.bincount(idx, minlength=785)
    tail = np.flatnonzero(labels == 5)  # r = 13.08: ~262 copies each
    expected = 20 * 785 / (6 * 10)
    assert np.all(np.abs(per_img[tail] - expected) < 0.1 * expected)
    # head images are kept with probability r = 0.327 per pass
    head = per_img[labels == 0]
    assert abs(head.mean() - 20 * 785 / (6 * 400)) < 0.3
    assert head.min() < head.max()  # not deterministic copies


def test_copies_not_adjacent(toy_dataset, labels):
    s = build(toy_dataset(labels))
    idx = np.array(list(s))
    # the tail image copies are spread over the epoch (full shuffle), not
    # emitted back to back as in the tf.data stream
    same_as_prev = np.mean(idx[1:] == idx[:-1])
    assert same_as_prev < 0.02


def test_empty_class(toy_dataset, labels):
    ds = toy_dataset(labels, num_classes=8)
    with pytest.raises(ValueError, match=r'LTToyDataset has no image of '
                       r'class index \[6, 7\]'):
        build(ds)
