# Copyright (c) ltplug contributors. All rights reserved.
"""The pure helpers of ``ltplug/datasets/samplers/utils.py``."""
import numpy as np
import pytest
from mmpretrain.datasets import BaseDataset

from ltplug.datasets.samplers.utils import (check_nonempty_classes,
                                            cyclic_class_draws, dataset_labels,
                                            draw_by_class_probs,
                                            group_by_class, padded_total,
                                            rank_partition, resample_pass,
                                            resample_ratios, resample_stream)


def test_group_by_class_by_hand():
    order, counts, offsets = group_by_class(np.array([2, 0, 2, 1, 0]), 4)
    assert order.tolist() == [1, 4, 3, 0, 2]
    assert counts.tolist() == [2, 1, 2, 0]
    assert offsets.tolist() == [0, 2, 3, 5]


@pytest.mark.parametrize('length,world,expected', [
    (5, 2, [[0, 2, 4], [1, 3, 0]]),
    (7, 3, [[0, 3, 6], [1, 4, 0], [2, 5, 1]]),
    (4, 4, [[0], [1], [2], [3]]),
    (2, 3, [[0], [1], [0]]),
    (3, 1, [[0, 1, 2]]),
])
def test_rank_partition_by_hand(length, world, expected):
    order = np.arange(length) * 10
    parts = [rank_partition(order, r, world).tolist() for r in range(world)]
    assert parts == [[10 * v for v in p] for p in expected]
    assert padded_total(length, world) == sum(len(p) for p in parts)


def test_check_nonempty_classes_names_the_class():
    check_nonempty_classes(np.array([3, 1]), 'S', 'D')
    with pytest.raises(ValueError, match=r'D has no image of class index '
                       r'\[1, 3\]'):
        check_nonempty_classes(np.array([3, 0, 2, 0]), 'S', 'D')


@pytest.mark.parametrize('k', [1, 2, 3])
def test_cyclic_class_draws_structure(k):
    counts = [5, 2, 1, 3]
    labels = np.repeat(np.arange(4), counts)
    order, cnt, off = group_by_class(labels, 4)
    length = 4 * k * 10  # 10 full cycles of class visits
    out = cyclic_class_draws(np.random.default_rng(3), length, k, order, cnt,
                             off)
    assert out.shape == (length, )
    lab = labels[out]
    # k consecutive indices per visit, same class
    visits = lab.reshape(-1, k)
    assert (visits == visits[:, :1]).all()
    visit_cls = visits[:, 0].reshape(-1, 4)
    # every cycle of 4 visits is a permutation of the classes
    assert (np.sort(visit_cls, axis=1) == np.arange(4)).all()
    # cycles are reshuffled (not all equal)
    assert len({tuple(r) for r in visit_cls}) > 1
    # inside one class: each run of n_c draws is a permutation of its images
    for c, n in enumerate(counts):
        seq = out[lab == c]
        assert len(seq) == 10 * k
        full = len(seq) // n * n
        runs = seq[:full].reshape(-1, n)
        members = np.flatnonzero(labels == c)
        assert (np.sort(runs, axis=1) == members).all()


def test_cyclic_class_draws_partial_last_visit():
    labels = np.repeat(np.arange(3), [4, 4, 4])
    order, cnt, off = group_by_class(labels, 3)
    out = cyclic_class_draws(np.random.default_rng(0), 7, 3, order, cnt, off)
    lab = labels[out]
    assert len(out) == 7
    assert lab[0] == lab[1] == lab[2] and lab[3] == lab[4] == lab[5]
    assert len({lab[0], lab[3], lab[6]}) == 3  # first cycle: 3 classes


def test_draw_by_class_probs_never_draws_zero_class():
    labels = np.repeat(np.arange(3), [5, 5, 5])
    order, cnt, off = group_by_class(labels, 3)
    out = draw_by_class_probs(np.random.default_rng(0),
                              np.array([0.5, 0.0, 0.5]), 4000, order, cnt,
                              off)
    freq = np.bincount(labels[out], minlength=3) / 4000
    assert freq[1] == 0
    assert abs(freq[0] - 0.5) < 0.04
    # uniform inside a class: 2000 draws over 5 images, 400 each
    per_img = np.bincount(out, minlength=15)[:5]
    assert np.all(np.abs(per_img - 400) < 80)


def test_resample_ratios_by_hand():
    # N = 10, C = 3: r_c = 10 / (3 n_c)
    np.testing.assert_allclose(resample_ratios(np.array([6, 3, 1])),
                               [10 / 18, 10 / 9, 10 / 3])


def test_resample_pass_copies():
    labels = np.repeat(np.arange(3), [6, 3, 1])
    r = resample_ratios(np.array([6, 3, 1]))
    rng = np.random.default_rng(0)
    copies = np.stack([
        np.bincount(resample_pass(rng, labels, r), minlength=10)
        for _ in range(3000)
    ])
    # r=0.556: 0 or 1 copy; r=1.11: 1 or 2; r=3.33: 3 or 4
    assert set(np.unique(copies[:, :6])) == {0, 1}
    assert set(np.unique(copies[:, 6:9])) == {1, 2}
    assert set(np.unique(copies[:, 9])) == {3, 4}
    # mean copies = r_c (3000 passes: standard error < 0.01)
    np.testing.assert_allclose(copies.mean(0), r[labels], atol=0.03)


def test_resample_pass_is_shuffled():
    labels = np.repeat(np.arange(2), [50, 5])
    r = resample_ratios(np.array([50, 5]))
    idx = resample_pass(np.random.default_rng(1), labels, r)
    # not sorted, copies of the tail images are not all adjacent
    assert not np.all(np.diff(idx) >= 0)


def test_resample_stream_exact_length():
    labels = np.repeat(np.arange(3), [60, 30, 10])
    r = resample_ratios(np.array([60, 30, 10]))
    for length in (1, 99, 100, 101, 350):
        out = resample_stream(np.random.default_rng(length), labels, r,
                              length)
        assert out.shape == (length, )
        assert out.min() >= 0 and out.max() < 100


class _NoLabels(BaseDataset):

    def __init__(self):
        super().__init__(ann_file='', metainfo=dict(classes=['a', 'b']))

    def load_data_list(self):
        return [dict(img=i) for i in range(4)]


def test_dataset_labels(toy_dataset):
    ds = toy_dataset([1, 0, 1], num_classes=4)
    labels, num_classes = dataset_labels(ds)
    assert labels.tolist() == [1, 0, 1]
    assert num_classes == 4  # from metainfo['classes'], not max + 1

    class Plain:

        def get_gt_labels(self):
            return [0, 2, 2]

    assert dataset_labels(Plain())[1] == 3


def test_dataset_labels_errors():
    with pytest.raises(ValueError, match='_NoLabels provides no class'):
        dataset_labels(_NoLabels())
    with pytest.raises(ValueError, match='list has no get_gt_labels'):
        dataset_labels([1, 2])

    class MultiLabel:

        def get_gt_labels(self):
            return [[0, 1], [1, 2], [0, 1]]

    with pytest.raises(ValueError, match='MultiLabel labels must be one'):
        dataset_labels(MultiLabel())

    class Empty:

        def get_gt_labels(self):
            return np.zeros(0, dtype=np.int64)

    with pytest.raises(ValueError, match='Empty is empty'):
        dataset_labels(Empty())
