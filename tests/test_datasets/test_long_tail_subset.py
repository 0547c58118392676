# Copyright (c) ltplug contributors. All rights reserved.
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmpretrain.registry import DATASETS

from ltplug.datasets import get_class_counts
from ltplug.evaluation.functional import shot_groups


def toy_labels(counts, shuffle_seed=None):
    labels = np.repeat(np.arange(len(counts)), counts)
    if shuffle_seed is not None:
        np.random.default_rng(shuffle_seed).shuffle(labels)
    return labels


def profile(n_max, num_classes, ratio):
    """Independent re-implementation of the exponential profile."""
    if num_classes == 1:
        return [n_max]
    return [
        int(n_max * (1.0 / ratio)**(c / (num_classes - 1.0)))
        for c in range(num_classes)
    ]


def build_subset(toy_dataset, labels, **kwargs):
    kwargs.setdefault('imbalance_ratio', 100)
    return DATASETS.build(
        dict(type='LongTailSubset', dataset=toy_dataset(labels), **kwargs))


@pytest.mark.parametrize('num_classes,n_max,ratio,size', [
    (100, 500, 100, 10847),
    (100, 500, 50, 12608),
    (100, 500, 10, 19573),
    (10, 5000, 100, 12406),
])
def test_published_sizes(toy_dataset, num_classes, n_max, ratio, size):
    labels = toy_labels([n_max] * num_classes, shuffle_seed=1)
    ds = build_subset(toy_dataset, labels, imbalance_ratio=ratio)
    assert len(ds) == size
    counts = get_class_counts(ds)
    assert counts.sum() == size
    assert counts[0] == n_max and counts[-1] == int(n_max / ratio)
    # counts describe what is actually kept
    np.testing.assert_array_equal(
        np.bincount(ds.get_gt_labels(), minlength=num_classes), counts)
    assert ds.metainfo['classes'] == tuple(f'c{i}' for i in range(
        num_classes)) or list(ds.metainfo['classes']) == [
            f'c{i}' for i in range(num_classes)]
    if num_classes == 100 and ratio == 100:
        groups = shot_groups(counts)
        assert [int(groups[k].sum()) for k in ('many', 'medium', 'few')] \
            == [35, 35, 30]


def test_ldam_selection_matches_reference(toy_dataset):
    labels = toy_labels([40] * 6, shuffle_seed=3)
    ds = build_subset(toy_dataset, labels, imbalance_ratio=10,
                      selection='ldam', seed=0)
    # LDAM-DRW, written independently: global numpy seed, per-class shuffle
    state = np.random.get_state()
    try:
        np.random.seed(0)
        expected = []
        for c, n_c in enumerate(profile(40, 6, 10)):
            idx = np.where(labels == c)[0]
            np.random.shuffle(idx)
            expected.extend(idx[:n_c].tolist())
    finally:
        np.random.set_state(state)
    assert ds.indices.tolist() == expected
    # __getitem__ goes through the wrapped dataset: img is the index
    for i in (0, 7, len(ds) - 1):
        assert ds[i]['img'] == expected[i]
        assert ds.get_cat_ids(i) == [int(labels[expected[i]])]


def test_seed_changes_ldam_selection(toy_dataset):
    labels = toy_labels([30] * 4, shuffle_seed=0)
    a = build_subset(toy_dataset, labels, imbalance_ratio=5, seed=0)
    b = build_subset(toy_dataset, labels, imbalance_ratio=5, seed=1)
    assert sorted(a.indices.tolist()) != sorted(b.indices.tolist())
    np.testing.assert_array_equal(get_class_counts(a), get_class_counts(b))


def test_first_selection(toy_dataset):
    labels = toy_labels([20] * 5, shuffle_seed=7)
    ds = build_subset(toy_dataset, labels, imbalance_ratio=4,
                      selection='first')
    expected = []
    for c, n_c in enumerate(profile(20, 5, 4)):
        expected.extend(np.flatnonzero(labels == c)[:n_c].tolist())
    assert sorted(ds.indices.tolist()) == sorted(expected)


def test_no_subsample_keeps_all_and_reports_profile(toy_dataset):
    labels = toy_labels([10] * 10)
    ds = build_subset(toy_dataset, labels, imbalance_ratio=100,
                      subsample=False, n_max=5000)
    assert len(ds) == 100
    assert get_class_counts(ds).tolist() == profile(5000, 10, 100)


def test_max_per_class(toy_dataset):
    labels = toy_labels([50] * 5)
    ds = build_subset(toy_dataset, labels, imbalance_ratio=10,
                      max_per_class=8)
    expected = np.minimum(profile(50, 5, 10), 8)
    assert get_class_counts(ds).tolist() == expected.tolist()
    assert np.bincount(ds.get_gt_labels()).tolist() == expected.tolist()
    test = build_subset(toy_dataset, labels, imbalance_ratio=10,
                        subsample=False, max_per_class=3)
    assert np.bincount(test.get_gt_labels()).tolist() == [3] * 5
    # the capped profile, as a train split built with max_per_class=3 has
    assert get_class_counts(test).tolist() == np.minimum(
        profile(50, 5, 10), 3).tolist()


def test_dataset_object_and_lazy_init(toy_dataset):
    ds = DATASETS.build(
        dict(type='LongTailSubset', dataset=toy_dataset(toy_labels([9] * 3)),
             imbalance_ratio=3, lazy_init=True))
    assert not ds._fully_initialized
    assert len(ds) == sum(profile(9, 3, 3))


@pytest.mark.parametrize('ratio', [0.5, 0, -3, float('nan')])
def test_bad_ratio(toy_dataset, ratio):
    with pytest.raises(ValueError, match='imbalance_ratio'):
        build_subset(toy_dataset, toy_labels([5, 5]), imbalance_ratio=ratio)


@pytest.mark.parametrize('kwargs,error,message', [
    (dict(imbalance_ratio='100'), TypeError,
     "LongTailSubset: imbalance_ratio must be a number, but got '100' "
     r'\(str\); a quoted value'),
    (dict(imbalance_ratio=True), TypeError, 'imbalance_ratio .* True'),
    (dict(imbalance_ratio=float('inf')), ValueError,
     'imbalance_ratio must be a finite number'),
    (dict(n_max='5'), TypeError, "n_max must be an int or None, but got '5'"),
    (dict(n_max=4.5), TypeError, 'n_max must be an int or None, but got 4.5'),
    (dict(max_per_class=0), ValueError, 'max_per_class must be >= 1'),
    (dict(max_per_class='2'), TypeError, "max_per_class must be an int"),
    (dict(num_classes='2'), TypeError, "num_classes must be an int"),
    (dict(seed='0'), TypeError, "seed must be an int, but got '0'"),
    (dict(seed=-1), ValueError, 'seed must be >= 0, but got -1'),
    (dict(subsample='False'), TypeError,
     "subsample must be True or False, but got 'False'"),
])
def test_bad_number_types_named(toy_dataset, kwargs, error, message):
    """A quoted --cfg-options value (imbalance_ratio='100') failed inside
    numpy with "ufunc 'isfinite' not supported"."""
    with pytest.raises(error, match=message):
        build_subset(toy_dataset, toy_labels([5, 5]), **kwargs)


def test_numpy_numbers_accepted(toy_dataset):
    ds = build_subset(toy_dataset, toy_labels([9] * 3),
                      imbalance_ratio=np.float64(3), seed=np.int64(1),
                      max_per_class=np.int32(9))
    assert len(ds) == sum(profile(9, 3, 3))


def test_profile_helpers_check_types():
    from ltplug.datasets import exp_profile_counts
    from ltplug.datasets.long_tail_subset import long_tail_profile
    with pytest.raises(TypeError, match="imbalance_ratio must be a number, "
                       "but got '10'"):
        long_tail_profile([5, 5], '10')
    with pytest.raises(TypeError, match='num_classes must be an int'):
        exp_profile_counts(100, 2.5, 10)
    with pytest.raises(TypeError, match='n_max must be an int'):
        exp_profile_counts('100', 3, 10)
    assert exp_profile_counts(np.int64(100), np.int64(3), 10.).tolist() == \
        [100, 31, 10]


def test_class_short_of_images(toy_dataset):
    # class 1 needs int(100 * 0.1 ** (1/2)) = 31 images but has 20
    with pytest.raises(ValueError, match='class 1 has 20 images'):
        build_subset(toy_dataset, toy_labels([100, 20, 50]),
                     imbalance_ratio=10)


def test_class_with_zero_images(toy_dataset):
    labels = toy_labels([10, 0, 10])
    with pytest.raises(ValueError, match=r'\[1\]'):
        build_subset(toy_dataset, labels, imbalance_ratio=2)


def test_bad_selection(toy_dataset):
    with pytest.raises(ValueError, match='random'):
        build_subset(toy_dataset, toy_labels([5, 5]), selection='random')


def test_check_long_tail_args_order_and_messages():
    # the one check of LongTailSubset's and CIFAR10LT's shared arguments:
    # ratio, counts, seed, flags, selection (the first bad one is named)
    from ltplug.datasets.long_tail_subset import check_long_tail_args
    check_long_tail_args('X', 1, 0, 'first', counts=dict(n_max=None),
                         flags=dict(subsample=True))
    bad = dict(imbalance_ratio=0.5, counts=dict(n_max=0), seed=-1,
               flags=dict(subsample=1), selection='random')
    messages = [
        (ValueError, r'^X: imbalance_ratio must be >= 1, but got 0\.5$'),
        (ValueError, r'^X: n_max must be >= 1, but got 0$'),
        (ValueError, r'^X: seed must be >= 0, but got -1$'),
        (TypeError, r'^X: subsample must be True or False, but got 1 '),
        (ValueError, r"^selection must be one of \('ldam', 'first'\), but "
         r"got 'random'$"),
    ]
    good = dict(imbalance_ratio=10, counts=dict(n_max=3), seed=0,
                flags=dict(subsample=False), selection='ldam')
    for i, (error, message) in enumerate(messages):
        args = dict(good)
        args.update({k: bad[k] for k in list(bad)[i:]})
        with pytest.raises(error, match=message):
            check_long_tail_args('X', **args)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(counts=st.lists(st.integers(0, 40), min_size=1, max_size=12),
       ratio=st.floats(0.5, 300, allow_nan=False),
       n_max=st.one_of(st.none(), st.integers(1, 60)),
       max_per_class=st.one_of(st.none(), st.integers(1, 30)),
       subsample=st.booleans(),
       selection=st.sampled_from(['ldam', 'first']))
def test_fuzz_long_tail_subset(toy_dataset, counts, ratio, n_max,
                               max_per_class, subsample, selection):
    if sum(counts) == 0:
        counts[0] = 1
    labels = toy_labels(counts, shuffle_seed=0)
    try:
        ds = build_subset(
            toy_dataset, labels, imbalance_ratio=ratio, n_max=n_max,
            max_per_class=max_per_class, subsample=subsample,
            selection=selection, num_classes=len(counts))
    except ValueError:
        # documented failures only
        top = max(counts) if n_max is None else n_max
        target = profile(top, len(counts), ratio) if ratio >= 1 else None
        assert (ratio < 1 or 0 in counts or min(target) < 1
                or (subsample and any(
                    a < t for a, t in zip(counts, target))))
        return
    target = np.array(profile(n_max or max(counts), len(counts), ratio))
    # accepted only when none of the documented failures applies
    assert ratio >= 1 and 0 not in counts and target.min() >= 1
    assert not subsample or all(a >= t for a, t in zip(counts, target))
    if max_per_class is not None:
        target = np.minimum(target, max_per_class)
    assert get_class_counts(ds).tolist() == target.tolist()
    kept = np.bincount(ds.get_gt_labels(), minlength=len(counts))
    if subsample:
        assert kept.tolist() == target.tolist()
    else:
        cap = max_per_class or max(counts)
        assert kept.tolist() == np.minimum(counts, cap).tolist()
    assert len(set(ds.indices.tolist())) == len(ds)
    np.testing.assert_array_equal(labels[ds.indices], ds.get_gt_labels())
