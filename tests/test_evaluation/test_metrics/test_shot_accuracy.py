# Copyright (c) ltplug contributors. All rights reserved.
import json
import logging
import math
import os.path as osp
import time

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample

from ltplug.evaluation import shot_groups

# 7 classes whose training counts sit on and around the thresholds.
# standard rule (>100 many, <20 few): many {0, 1}, medium {2, 3, 4},
# few {5, 6}; NCL's inclusive rule (>=100, <=20): many {0, 1, 2},
# medium {3}, few {4, 5, 6}.
COUNTS = [150, 101, 100, 50, 20, 19, 5]
NUM_CLASSES = len(COUNTS)

# (true label, outcome) per test sample; outcome: 'hit' = top-1 correct,
# 'second' = true class ranked second, 'miss' = true class ranked last.
SAMPLES = [
    (0, 'hit'), (0, 'hit'),  # class 0: 100 %
    (1, 'hit'), (1, 'miss'),  # class 1: 50 %
    (2, 'second'),  # class 2: 0 % (top-2 hit)
    (3, 'hit'), (3, 'hit'),  # class 3: 100 %
    (4, 'hit'),  # class 4: 100 %
    (5, 'hit'), (5, 'miss'), (5, 'miss'), (5, 'miss'),  # class 5: 25 %
    (6, 'second'), (6, 'miss'),  # class 6: 0 % (one top-2 hit)
]
# by hand: 7 of 14 top-1 hits = 50 %, 9 of 14 top-2 hits = 64.2857 %
# standard: many (100 + 50) / 2 = 75, medium (0 + 100 + 100) / 3 = 66.667,
#           few (25 + 0) / 2 = 12.5
# inclusive: many (100 + 50 + 0) / 3 = 50, medium 100,
#            few (100 + 25 + 0) / 3 = 41.667


def make_samples(samples=SAMPLES, num_classes=NUM_CLASSES, as_dict=True):
    out = []
    for label, outcome in samples:
        score = torch.zeros(num_classes)
        wrong = (label + 1) % num_classes
        if outcome == 'hit':
            score[label] = 0.9
            score[wrong] = 0.1
        elif outcome == 'second':
            score[wrong] = 0.6
            score[label] = 0.4
        else:
            score[wrong] = 0.7
            score[(label + 2) % num_classes] = 0.3
            score[label] = -1.0
        ds = DataSample().set_gt_label(label).set_pred_score(score)
        out.append(ds.to_dict() if as_dict else ds)
    return out


def run_metric(samples, batch=4, **kwargs):
    metric = METRICS.build(dict(type='ShotAccuracy', **kwargs))
    if 'class_counts' not in kwargs:
        metric.dataset_meta = dict(
            classes=[f'c{i}' for i in range(NUM_CLASSES)],
            class_counts=COUNTS)
    for i in range(0, len(samples), batch):
        metric.process(None, samples[i:i + batch])
    return metric.evaluate(len(samples))


def test_standard_rule_hand_computed(tmp_path):
    res = run_metric(make_samples(), topk=(1, 2), out_dir=str(tmp_path))
    assert res['shot/top1'] == pytest.approx(50.0)
    assert res['shot/top2'] == pytest.approx(900 / 14)
    assert res['shot/many'] == pytest.approx(75.0)
    assert res['shot/medium'] == pytest.approx(200 / 3)
    assert res['shot/few'] == pytest.approx(12.5)
    assert set(res) == {
        'shot/top1', 'shot/top2', 'shot/many', 'shot/medium', 'shot/few'
    }


def test_inclusive_rule_hand_computed(tmp_path):
    res = run_metric(
        make_samples(), inclusive=True, prefix='ncl', out_dir=str(tmp_path))
    assert res['ncl/top1'] == pytest.approx(50.0)
    assert res['ncl/many'] == pytest.approx(50.0)
    assert res['ncl/medium'] == pytest.approx(100.0)
    assert res['ncl/few'] == pytest.approx(125 / 3)


def test_data_sample_objects_and_class_counts_arg(tmp_path):
    """DataSample inputs and counts from the argument (no dataset_meta)."""
    res = run_metric(
        make_samples(as_dict=False),
        class_counts=COUNTS,
        out_dir=str(tmp_path))
    assert res['shot/top1'] == pytest.approx(50.0)
    assert res['shot/few'] == pytest.approx(12.5)


def test_thresholds_configurable(tmp_path):
    # many > 50 -> {0, 1, 2}; few < 6 -> {6}; medium {3, 4, 5}
    res = run_metric(
        make_samples(), many_thr=50, few_thr=6, out_dir=str(tmp_path))
    assert res['shot/many'] == pytest.approx(50.0)
    assert res['shot/medium'] == pytest.approx(225 / 3)
    assert res['shot/few'] == pytest.approx(0.0)


def test_empty_group_is_nan(tmp_path):
    metric = METRICS.build(
        dict(type='ShotAccuracy', class_counts=[500, 300, 200],
             out_dir=str(tmp_path)))
    metric.process(None, make_samples([(0, 'hit'), (1, 'miss'),
                                       (2, 'hit')], num_classes=3))
    res = metric.evaluate(3)
    assert res['shot/top1'] == pytest.approx(200 / 3)
    assert res['shot/many'] == pytest.approx(200 / 3)
    assert math.isnan(res['shot/medium'])
    assert math.isnan(res['shot/few'])


def test_class_without_test_sample_left_out_of_group(tmp_path):
    # class 1 (many) has no test sample: many = class 0 only
    samples = make_samples([(0, 'hit'), (2, 'miss')])
    res = run_metric(samples, out_dir=str(tmp_path))
    assert res['shot/many'] == pytest.approx(100.0)
    data = json.load(open(osp.join(tmp_path, 'per_class_accuracy.json')))
    assert data['per_class'][1]['top1'] is None
    assert data['per_class'][1]['num_test'] == 0


def test_topk_larger_than_num_classes(tmp_path):
    res = run_metric(make_samples(), topk=(1, 10), out_dir=str(tmp_path))
    assert res['shot/top10'] == pytest.approx(100.0)


def test_no_counts_raises():
    metric = METRICS.build(dict(type='ShotAccuracy', save_per_class=False))
    metric.dataset_meta = dict(classes=['a', 'b'])
    metric.process(None, make_samples([(0, 'hit')], num_classes=2))
    with pytest.raises(ValueError, match='class_counts'):
        metric.evaluate(1)


def test_label_out_of_range_raises():
    metric = METRICS.build(
        dict(type='ShotAccuracy', class_counts=[5, 5], save_per_class=False))
    metric.process(None, [dict(gt_label=torch.tensor([2]),
                               pred_label=torch.tensor([0]))])
    with pytest.raises(ValueError, match='label 2'):
        metric.evaluate(1)


@pytest.mark.parametrize('num_scores', [10, 2])
@pytest.mark.parametrize('from_meta', [False, True])
def test_scores_for_another_number_of_classes_refused(num_scores, from_meta):
    """10 scores with counts for 3 classes reported 0.0 (and 2 scores a
    wrong accuracy); now both numbers are named."""
    kwargs = dict(type='ShotAccuracy', save_per_class=False)
    if not from_meta:
        kwargs['class_counts'] = [50, 10, 2]
    metric = METRICS.build(kwargs)
    if from_meta:
        metric.dataset_meta = dict(class_counts=[50, 10, 2])
    samples = make_samples([(0, 'hit'), (1, 'hit')], num_classes=num_scores)
    where = 'class_counts' if not from_meta else \
        r"the dataset's metainfo\['class_counts'\]"
    with pytest.raises(ValueError, match=(
            f'predictions have {num_scores} class scores per sample '
            rf'\(pred_score\), but {where} has 3 classes')):
        metric.process(None, samples)


@pytest.mark.parametrize('kwargs,error,message', [
    (dict(topk=(0, )), ValueError, 'topk must be >= 1, but got 0'),
    (dict(topk=(1, -5)), ValueError, 'topk must be >= 1, but got -5'),
    (dict(topk=()), ValueError, 'at least one k'),
    (dict(topk='5'), TypeError, "topk must be an int, but got '5'"),
    (dict(topk=(1, True)), TypeError, 'topk must be an int, but got True'),
    (dict(topk=2.0), TypeError, 'topk must be an int, but got 2.0'),
    (dict(many_thr=10, few_thr=20), ValueError, 'few_thr'),
    (dict(many_thr='100'), TypeError, "many_thr must be a number, but got "
     "'100'"),
    (dict(few_thr=-1), ValueError, 'few_thr must be >= 0'),
    (dict(few_thr=float('nan')), ValueError, 'few_thr must be a finite'),
    # 'False' is true to bool(): NCL's rule would be used silently
    (dict(inclusive='False'), TypeError,
     "inclusive must be True or False, but got 'False'"),
    (dict(save_per_class=0), TypeError, 'save_per_class must be True or'),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        METRICS.build(dict(type='ShotAccuracy', **kwargs))


def test_numpy_topk_accepted():
    metric = METRICS.build(dict(type='ShotAccuracy',
                                topk=(np.int64(1), np.int32(2))))
    assert metric.topk == (1, 2) and metric.maxk == 2


def test_per_class_json_write_failing_halfway_keeps_old_file(
        tmp_path, monkeypatch):
    """A writer that fails after part of the file is out (a full disk, a
    kill) leaves the previous per_class_accuracy.json intact and no
    temporary file behind."""
    run_metric(make_samples(), out_dir=str(tmp_path))
    path = osp.join(tmp_path, 'per_class_accuracy.json')
    before = open(path).read()
    json.loads(before)
    calls = []
    real_dumps = json.dumps

    def failing_dumps(obj, *args, **kwargs):
        calls.append(obj)
        if len(calls) == 3:  # the head and a first class row are written
            raise OSError(28, 'No space left on device')
        return real_dumps(obj, *args, **kwargs)

    monkeypatch.setattr(json, 'dumps', failing_dumps)
    with pytest.raises(OSError, match='No space left'):
        run_metric(make_samples([(0, 'miss')] * 3), out_dir=str(tmp_path))
    monkeypatch.undo()
    assert open(path).read() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'per_class_accuracy.json']


def test_pred_label_only_top1():
    metric = METRICS.build(
        dict(type='ShotAccuracy', class_counts=[5, 500], save_per_class=False))
    metric.process(None, [
        dict(gt_label=torch.tensor([0]), pred_label=torch.tensor([0])),
        dict(gt_label=torch.tensor([1]), pred_label=torch.tensor([0])),
    ])
    res = metric.evaluate(2)
    assert res['shot/top1'] == pytest.approx(50.0)
    assert res['shot/few'] == pytest.approx(100.0)
    assert res['shot/many'] == pytest.approx(0.0)
    with pytest.raises(ValueError, match='pred_score'):
        METRICS.build(dict(type='ShotAccuracy', topk=(1, 5),
                           class_counts=[5, 500])).process(
                               None, [dict(gt_label=torch.tensor([0]),
                                           pred_label=torch.tensor([0]))])


def test_per_class_json_content(tmp_path):
    run_metric(make_samples(), out_dir=str(tmp_path))
    data = json.load(open(osp.join(tmp_path, 'per_class_accuracy.json')))
    rows = data['per_class']
    assert [r['train_count'] for r in rows] == COUNTS
    assert [r['group'] for r in rows] == [
        'many', 'many', 'medium', 'medium', 'medium', 'few', 'few'
    ]
    assert [r['num_test'] for r in rows] == [2, 2, 1, 2, 1, 4, 2]
    assert [r['top1'] for r in rows] == pytest.approx(
        [100, 50, 0, 100, 100, 25, 0])
    assert rows[3]['name'] == 'c3'
    assert data['group_sizes'] == dict(many=2, medium=3, few=2)
    assert data['summary']['top1'] == pytest.approx(50.0)


def test_per_class_json_next_to_log_file(tmp_path):
    (tmp_path / 'run').mkdir()
    log_file = osp.join(tmp_path, 'run', 'run.log')
    logger = MMLogger.get_instance(
        'shot_accuracy_json_test', log_file=log_file)
    try:
        run_metric(make_samples())
    finally:
        for h in list(logger.handlers):
            h.flush()
    path = osp.join(tmp_path, 'run', 'per_class_accuracy.json')
    assert osp.isfile(path)
    assert path in open(log_file).read()
    for h in list(logger.handlers):
        h.close()
        logger.removeHandler(h)


def test_distributed_style_padding_dropped(tmp_path):
    """evaluate(size) drops samples beyond ``size`` (sampler padding)."""
    samples = make_samples()
    padded = samples + make_samples([(0, 'miss'), (0, 'miss')])
    metric = METRICS.build(dict(type='ShotAccuracy', class_counts=COUNTS,
                                out_dir=str(tmp_path)))
    metric.process(None, padded)
    res = metric.evaluate(len(samples))
    assert res['shot/top1'] == pytest.approx(50.0)


def test_large_scale_is_fast():
    """24,426 predictions over 8,142 classes (iNat-2018 val) in < 1 s."""
    rng = np.random.default_rng(0)
    num_classes = 8142
    counts = rng.integers(2, 1001, num_classes)
    labels = np.repeat(np.arange(num_classes), 3)
    top5 = rng.integers(0, num_classes, (labels.size, 5))
    top5[::2, 0] = labels[::2]  # half the samples are top-1 hits
    # the records process() stores: [label, pred, correct, confidence,
    # hit@1, hit@5]
    top1_hit = top5[:, 0] == labels
    rows = list(np.stack([
        labels, top5[:, 0], top1_hit, np.full(labels.size, 0.5), top1_hit,
        (top5 == labels[:, None]).any(axis=1)
    ], axis=1).astype(np.float64))
    metric = METRICS.build(
        dict(type='ShotAccuracy', topk=(1, 5), class_counts=counts,
             save_per_class=False))
    start = time.perf_counter()
    res = metric.compute_metrics(rows)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, elapsed
    # independent check of top-1 and the many group with a plain loop
    hit = top5[:, 0] == labels
    assert res['top1'] == pytest.approx(hit.mean() * 100)
    many = shot_groups(counts)['many']
    per_cls = [hit[labels == c].mean() * 100 for c in np.flatnonzero(many)]
    assert res['many'] == pytest.approx(np.mean(per_cls))


def test_head_rows_and_separate_scores_give_same_rows(tmp_path):
    """Samples holding rows of one (B, C) tensor (as a head hands them) and
    samples holding their own copies store the same records."""
    rng = torch.Generator().manual_seed(0)
    scores = torch.rand(40, NUM_CLASSES, generator=rng)
    labels = torch.randint(0, NUM_CLASSES, (40, ), generator=rng)
    results = []
    for copy in (False, True):
        samples = [
            DataSample().set_gt_label(int(y)).set_pred_score(
                s.clone() if copy else s).to_dict()
            for y, s in zip(labels, scores)
        ]
        metric = METRICS.build(dict(type='ShotAccuracy', topk=(1, 3),
                                    class_counts=COUNTS,
                                    out_dir=str(tmp_path)))
        for i in range(0, 40, 16):
            metric.process(None, samples[i:i + 16])
        results.append(np.stack(metric.results))
    assert np.array_equal(results[0], results[1])
    # [label, pred, correct, confidence, hit@1, hit@3], checked
    # independently
    table = results[0]
    assert table.shape == (40, 6)
    order = np.argsort(-scores.numpy(), axis=1)
    y = labels.numpy()
    assert np.array_equal(table[:, 0], y)
    assert np.array_equal(table[:, 1], order[:, 0])
    assert np.array_equal(table[:, 2], order[:, 0] == y)
    assert np.array_equal(table[:, 3], scores.numpy().max(axis=1))
    assert np.array_equal(table[:, 4], order[:, 0] == y)
    assert np.array_equal(table[:, 5], (order[:, :3] == y[:, None]).any(1))
    assert 0 < table[:, 2].sum() < table[:, 5].sum() < 40


def test_confidence_is_nan_with_pred_label_only():
    metric = METRICS.build(
        dict(type='ShotAccuracy', class_counts=[5, 500], save_per_class=False))
    metric.process(None, [
        dict(gt_label=torch.tensor([1]), pred_label=torch.tensor([0])),
        dict(gt_label=1, pred_label=1),
    ])
    table = np.stack(metric.results)
    # [label, pred, correct, confidence, hit@1]
    assert np.array_equal(table[:, [0, 1, 2, 4]], [[1, 0, 0, 0],
                                                   [1, 1, 1, 1]])
    assert np.isnan(table[:, 3]).all()


def test_evaluate_arrays_needs_record_columns():
    metric = METRICS.build(dict(type='ShotAccuracy', topk=(1, 5),
                                class_counts=COUNTS))
    with pytest.raises(ValueError, match=r'\(3, 4\)'):
        metric.evaluate_arrays(np.zeros((3, 4)), np.asarray(COUNTS))


def reference_metrics(scores, labels, counts, topk):
    """Top-k and many / medium / few (standard rule) by plain loops."""
    order = np.argsort(-scores, axis=1, kind='stable')
    out = {}
    for k in topk:
        hits = [labels[i] in order[i, :k] for i in range(len(labels))]
        out[f'top{k}'] = 100.0 * sum(hits) / len(hits)
    per_class = {}
    for c in range(len(counts)):
        idx = [i for i in range(len(labels)) if labels[i] == c]
        if idx:
            per_class[c] = 100.0 * sum(order[i, 0] == c
                                       for i in idx) / len(idx)
    for name, member in (('many', lambda n: n > 100),
                         ('medium', lambda n: 20 <= n <= 100),
                         ('few', lambda n: n < 20)):
        accs = [a for c, a in per_class.items() if member(counts[c])]
        out[name] = sum(accs) / len(accs) if accs else float('nan')
    return out, per_class


@pytest.mark.parametrize('layout', ['head_rows', 'separate', 'numpy'])
def test_random_scores_match_plain_computation(tmp_path, layout):
    """Random, tie-free scores in uneven batches, topk=(1, 5): the summary,
    the per-class JSON and the logged table equal a computation by plain
    loops (independent of torch.topk and of the metric's numpy code)."""
    num_classes, n = 60, 230
    gen = torch.Generator().manual_seed(1)
    counts = torch.randint(2, 400, (num_classes, ), generator=gen).tolist()
    counts[:3] = [150, 50, 5]  # every group has classes
    scores = torch.rand(n, num_classes, generator=gen)
    labels = torch.randint(0, num_classes, (n, ), generator=gen)
    # make the true class win or come 2nd-5th now and then
    boost = torch.rand(n, generator=gen)
    scores[torch.arange(n), labels] += boost
    np_scores = scores.numpy()
    assert all(len(np.unique(r)) == num_classes for r in np_scores)
    metric = METRICS.build(
        dict(type='ShotAccuracy', topk=(1, 5), class_counts=counts,
             out_dir=str(tmp_path)))
    start = 0
    for size in (37, 64, 64, 52, 13):  # last batches partial
        block = scores[start:start + size]
        if layout == 'head_rows':
            rows = list(block)
        elif layout == 'separate':
            rows = [r.clone() for r in block]
        else:
            rows = [r.numpy().copy() for r in block]
        metric.process(None, [
            dict(gt_label=labels[i:i + 1], pred_score=r)
            for i, r in zip(range(start, start + size), rows)
        ])
        start += size
    assert start == n
    logger = MMLogger.get_current_instance()
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger.addHandler(handler)
    try:
        res = metric.evaluate(n)
    finally:
        logger.removeHandler(handler)
    expected, per_class = reference_metrics(np_scores, labels.numpy(),
                                            counts, (1, 5))
    assert set(res) == {f'shot/{k}' for k in expected}
    for key, value in expected.items():
        assert res[f'shot/{key}'] == pytest.approx(value, rel=1e-12), key
    assert 0 < expected['top1'] < expected['top5'] < 100
    data = json.load(open(osp.join(tmp_path, 'per_class_accuracy.json')))
    for row in data['per_class']:
        c = row['label']
        assert row['num_test'] == int((labels == c).sum())
        if c in per_class:
            assert row['top1'] == pytest.approx(per_class[c], rel=1e-12)
        else:
            assert row['top1'] is None
    table = next(m for m in messages if '| acc (%)' in m)
    acc_row = next(ln for ln in table.splitlines() if 'acc (%)' in ln)
    assert [c.strip() for c in acc_row.strip('|').split('|')][1:] == [
        f'{expected[k]:.2f}'
        for k in ('top1', 'top5', 'many', 'medium', 'few')
    ]
