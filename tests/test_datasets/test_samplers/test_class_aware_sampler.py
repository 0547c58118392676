# Copyright (c) ltplug contributors. All rights reserved.
import numpy as np
import pytest
from mmpretrain.registry import DATA_SAMPLERS

COUNTS = [50, 20, 5, 2, 1]  # N = 78, C = 5


def build(dataset, **kwargs):
    cfg = dict(type='ClassAwareSampler', seed=0, rank=0, world_size=1)
    cfg.update(kwargs)
    return DATA_SAMPLERS.build(cfg, default_args=dict(dataset=dataset))


@pytest.fixture
def labels(make_labels):
    return make_labels(COUNTS, shuffle_seed=1)


def test_default_length_and_class_frequencies(toy_dataset, labels):
    s = build(toy_dataset(labels))
    assert len(s) == 78
    for epoch in range(3):
        s.set_epoch(epoch)
        freq = np.bincount(labels[list(s)], minlength=5)
        # 78 draws cycling over 5 classes: 15 or 16 each
        assert freq.sum() == 78
        assert freq.min() >= 15 and freq.max() <= 16


def test_tail_images_repeat_evenly(toy_dataset, labels):
    s = build(toy_dataset(labels), num_samples=100)
    idx = np.array(list(s))
    # class 3 has 2 images and gets 100 / 5 = 20 draws: 10 each
    tail = np.flatnonzero(labels == 3)
    assert np.bincount(idx, minlength=78)[tail].tolist() == [10, 10]
    # class 0 (50 images) gets 20 draws: 20 different images
    head = idx[labels[idx] == 0]
    assert len(head) == 20 and len(set(head.tolist())) == 20


@pytest.mark.parametrize('k', [2, 4])
def test_num_samples_cls_runs(toy_dataset, labels, k):
    s = build(toy_dataset(labels), num_samples_cls=k, num_samples=80)
    lab = labels[list(s)].reshape(-1, k)
    assert (lab == lab[:, :1]).all()
    # consecutive visits of 5 classes form permutations
    visits = lab[:, 0][:len(lab) // 5 * 5].reshape(-1, 5)
    assert (np.sort(visits, axis=1) == np.arange(5)).all()


def test_ssd_stage_two_setting(toy_dataset, labels):
    """SSD stage II: 2 per class, per-rank order is a split of a global
    class-aware order."""
    ranks = [
        build(toy_dataset(labels), num_samples_cls=2, rank=r, world_size=2)
        for r in range(2)
    ]
    glob = labels[ranks[0].global_order()].reshape(-1, 2)
    assert (glob == glob[:, :1]).all()
    assert len(ranks[0]) == len(ranks[1]) == 39


def test_bad_num_samples_cls(toy_dataset, labels):
    with pytest.raises(ValueError, match='num_samples_cls must be >= 1, but '
                       'got 0'):
        build(toy_dataset(labels), num_samples_cls=0)
    with pytest.raises(TypeError, match='num_samples_cls must be an int, but '
                       'got 1.5'):
        build(toy_dataset(labels), num_samples_cls=1.5)


def test_empty_class(toy_dataset, labels):
    ds = toy_dataset(labels, num_classes=7)  # classes 5 and 6 have no image
    with pytest.raises(ValueError, match=r'LTToyDataset has no image of '
                       r'class index \[5, 6\]'):
        build(ds)
