# Copyright (c) ltplug contributors. All rights reserved.
"""Behaviour every ltplug long-tailed sampler shares: registry build, seed
and epoch, rank split, constant length, label errors."""
from unittest import mock

import numpy as np
import pytest
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

from ltplug.datasets.samplers import BaseLTSampler

COUNTS = [40, 20, 10, 5, 2]
CONFIGS = [
    dict(type='ClassAwareSampler'),
    dict(type='ClassAwareSampler', num_samples_cls=2),
    dict(type='SquareRootSampler'),
    dict(type='ProgressivelyBalancedSampler', total_epochs=4),
    dict(type='ClassBalancedResampleSampler'),
]
IDS = [
    c['type'] + ''.join(f'-{v}' for k, v in c.items() if k != 'type')
    for c in CONFIGS
]


@pytest.fixture
def dataset(toy_dataset, make_labels):
    return toy_dataset(make_labels(COUNTS, shuffle_seed=0))


def build(cfg, dataset, **kwargs):
    return DATA_SAMPLERS.build(dict(cfg, **kwargs),
                               default_args=dict(dataset=dataset))


@pytest.mark.parametrize('cfg', CONFIGS, ids=IDS)
def test_build_len_and_range(cfg, dataset):
    s = build(cfg, dataset, seed=0, rank=0, world_size=1)
    assert isinstance(s, Sampler) and isinstance(s, BaseLTSampler)
    n = sum(COUNTS)
    assert len(s) == n
    for epoch in range(3):
        s.set_epoch(epoch)
        idx = list(s)
        assert len(idx) == n
        assert all(isinstance(i, int) for i in idx)
        assert min(idx) >= 0 and max(idx) < n
    s = build(cfg, dataset, seed=0, num_samples=31, world_size=1, rank=0)
    assert len(s) == 31 == len(list(s))


@pytest.mark.parametrize('cfg', CONFIGS, ids=IDS)
def test_seed_and_epoch(cfg, dataset):
    a = build(cfg, dataset, seed=7, world_size=1, rank=0)
    b = build(cfg, dataset, seed=7, world_size=1, rank=0)
    c = build(cfg, dataset, seed=8, world_size=1, rank=0)
    assert list(a) == list(b)
    assert list(a) != list(c)
    first = list(a)
    a.set_epoch(1)
    second = list(a)
    assert second != first
    # only seed + epoch matters: a fresh sampler at epoch 1 agrees
    b.set_epoch(1)
    assert list(b) == second
    a.set_epoch(0)
    assert list(a) == first


@pytest.mark.parametrize('cfg', CONFIGS, ids=IDS)
@pytest.mark.parametrize('num_samples', [None, 50])
def test_two_ranks_split_the_global_order(cfg, dataset, num_samples):
    ranks = [
        build(cfg, dataset, seed=3, rank=r, world_size=2,
              num_samples=num_samples) for r in range(2)
    ]
    length = num_samples or sum(COUNTS)  # 77 (odd) or 50
    per_rank = -(-length // 2)
    for s in ranks:
        s.set_epoch(2)
        assert len(s) == per_rank
    parts = [list(s) for s in ranks]
    assert [len(p) for p in parts] == [per_rank] * 2
    # interleaving the ranks gives back the global order, padded with its
    # first element(s) as DefaultSampler does
    glob = ranks[0].global_order(2).tolist()
    assert len(glob) == length
    inter = [None] * (2 * per_rank)
    inter[0::2], inter[1::2] = parts
    assert inter == (glob + glob)[:2 * per_rank]
    # positions are disjoint: a single process sees the same order
    single = build(cfg, dataset, seed=3, rank=0, world_size=1,
                   num_samples=num_samples)
    single.set_epoch(2)
    assert list(single) == glob


@pytest.mark.parametrize('cfg', CONFIGS, ids=IDS)
def test_dist_defaults(cfg, dataset):
    where = 'ltplug.datasets.samplers.base_lt_sampler.'
    with mock.patch(where + 'get_dist_info', return_value=(1, 3)), \
            mock.patch(where + 'sync_random_seed', return_value=1234):
        s = build(cfg, dataset)
    assert (s.rank, s.world_size, s.seed) == (1, 3, 1234)
    assert len(s) == -(-sum(COUNTS) // 3)


@pytest.mark.parametrize('cfg', CONFIGS, ids=IDS)
def test_bad_common_args(cfg, dataset):
    with pytest.raises(ValueError, match='num_samples must be >= 1, but '
                       'got 0'):
        build(cfg, dataset, seed=0, num_samples=0)
    with pytest.raises(ValueError, match='rank must be < world_size=2, but '
                       'got 2'):
        build(cfg, dataset, seed=0, rank=2, world_size=2)
    with pytest.raises(TypeError, match=r"seed must be an int, but got "
                       r"'1'"):
        build(cfg, dataset, seed='1')
    s = build(cfg, dataset, seed=0)
    with pytest.raises(ValueError, match='epoch must be >= 0, but got -1'):
        s.set_epoch(-1)


class NoLabelToy(BaseDataset):

    def __init__(self):
        super().__init__(ann_file='', metainfo=dict(classes=['a', 'b']))

    def load_data_list(self):
        return [dict(img=i) for i in range(6)]


@pytest.mark.parametrize('cfg', CONFIGS, ids=IDS)
def test_dataset_without_labels(cfg):
    with pytest.raises(ValueError, match='NoLabelToy provides no class '
                       'labels'):
        build(cfg, NoLabelToy(), seed=0)


@pytest.mark.parametrize('cfg', CONFIGS, ids=IDS)
def test_lazy_dataset_is_initialised(cfg, toy_dataset):
    ds = toy_dataset([0, 1, 1, 2, 2, 2], lazy_init=True)
    assert not ds._fully_initialized
    s = build(cfg, ds, seed=0)
    assert len(s) == 6


def _digest(cfg, dataset):
    """sha256 of the two ranks' orders of epochs 0, 1 and 5 (seed 3)."""
    import hashlib
    h = hashlib.sha256()
    for r in range(2):
        s = build(cfg, dataset, seed=3, rank=r, world_size=2, num_samples=61)
        for epoch in (0, 1, 5):
            s.set_epoch(epoch)
            h.update(np.asarray(list(s), dtype=np.int64).tobytes())
    return h.hexdigest()[:16]


# Digests written by the samplers before their common arguments moved into
# BaseLTSampler (issue 15): the index sequences must not change.
PINNED = {
    'ClassAwareSampler': '57b5a1ecc6f7885d',
    'ClassAwareSampler-2': '78852915e323ca2f',
    'SquareRootSampler': '69c2c5477c50fc92',
    'ProgressivelyBalancedSampler-4': '5e642ff28e3f512d',
    'ClassBalancedResampleSampler': 'ed36ce6377796d20',
}


@pytest.mark.parametrize('cfg', CONFIGS, ids=IDS)
def test_sequences_are_pinned(cfg, dataset):
    assert _digest(cfg, dataset) == PINNED[IDS[CONFIGS.index(cfg)]]


@pytest.mark.parametrize('cfg', CONFIGS, ids=IDS)
def test_common_args_by_keyword_only_after_own(cfg, dataset):
    # the common arguments reach BaseLTSampler by keyword; a sampler's own
    # arguments are checked first (a bad own and a bad common argument
    # report the own one)
    own = {k for k in cfg if k != 'type'}
    s = build(cfg, dataset, seed=0, rank=1, world_size=3, num_samples=10)
    assert (s.seed, s.rank, s.world_size, s.num_samples) == (0, 1, 3, 10)
    if 'num_samples_cls' in own:
        with pytest.raises(ValueError, match='num_samples_cls must be >= '
                           '1, but got 0'):
            build(cfg, dataset, seed='x', num_samples_cls=0)
    if 'total_epochs' in own:
        with pytest.raises(ValueError, match='total_epochs must be >= 1, '
                           'but got 0'):
            build(cfg, dataset, seed='x', total_epochs=0)
    with pytest.raises(TypeError, match='unexpected keyword'):
        build(cfg, dataset, seed=0, epochs=3)


@pytest.mark.parametrize('cfg', CONFIGS, ids=IDS)
def test_every_class_flag(cfg, toy_dataset):
    # class 3 of 4 has no image: the class-balanced samplers refuse it
    # (after the other arguments are checked), SquareRootSampler never
    # draws it
    ds = toy_dataset([0, 0, 0, 1, 1, 2], num_classes=4)
    cls = DATA_SAMPLERS.get(cfg['type'])
    assert cls.requires_every_class == (cfg['type'] != 'SquareRootSampler')
    if cls.requires_every_class:
        with pytest.raises(ValueError, match=rf"^{cfg['type']} gives every "
                           r'class a share of the epoch, but LTToyDataset '
                           r'has no image of class index \[3\]'):
            build(cfg, ds, seed=0)
        with pytest.raises(ValueError, match='num_samples must be >= 1'):
            build(cfg, ds, seed=0, num_samples=0)
    else:
        s = build(cfg, ds, seed=0, num_samples=200, world_size=1, rank=0)
        assert s.class_counts.tolist() == [3, 2, 1, 0]
        assert set(list(s)) <= set(range(6))
