# Copyright (c) ltplug contributors. All rights reserved.
"""Time and peak memory of the data-side pieces at iNaturalist-2018 scale.

For each sampler: build it over 437,513 labels in 8,142 classes (a
long-tailed profile from 1,000 down to 2 images per class) and draw one
epoch of indices; for ``ShotAccuracy`` and ``ExpertAccuracy`` (3 experts,
as NCL): 24,426 validation predictions (3 per class, as iNat-2018 val)
through ``process`` + ``compute_metrics``, in batches of 256 made one at a
time (the 2.4 GB of all expert logits never exist at once).
Each time is the median of ``--repeat`` runs in one process with one torch
thread; peak memory is the tracemalloc peak of Python / numpy allocations
during one extra, untimed run (tracing slows numpy down). Samplers report
``array_s`` (the epoch as the vectorised int64 array, ``rank_indices()``)
and ``list_s`` (``list(iter(sampler))``, what a DataLoader consumes; the
target applies to it). The metric time counts ``process`` +
``compute_metrics`` only, not making the random scores and sample dicts;
``cpu_s`` is the process CPU time of the same runs (steadier than the
wall time on a shared machine). The metrics also report what would cross
from an accelerator to the host (counted in one more untimed run on the
CPU, see :func:`count_host_reads`):
``host_reads_per_batch`` (calls that read tensor data on the host) and
``host_copy_mib`` (the bytes they read), and ``results_kib``, the pickled
size of ``metric.results`` (what distributed collection sends).

    python benchmarks/data_scale.py [--repeat 5] [--json OUT.json] [--tiny]

Targets (issue "Benchmarks"): < 0.5 s per epoch of sampler indices and
< 1 s for ``ShotAccuracy``, on one core (``ExpertAccuracy`` has none).
"""
import argparse
import json
import logging
import os
import os.path as osp
import pickle
import statistics
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import ltplug  # noqa: E402,F401
from mmengine.logging import MMLogger  # noqa: E402
from mmpretrain.registry import DATA_SAMPLERS, METRICS  # noqa: E402

NUM_CLASSES = 8142
NUM_TRAIN = 437513
NUM_VAL_PER_CLASS = 3

SAMPLERS = [
    dict(type='ClassAwareSampler', num_samples_cls=1),
    dict(type='ClassAwareSampler', num_samples_cls=4),
    dict(type='SquareRootSampler'),
    dict(type='ProgressivelyBalancedSampler', total_epochs=90),
    dict(type='ClassBalancedResampleSampler'),
]


def long_tail_counts(num_classes: int = NUM_CLASSES,
                     total: int = NUM_TRAIN,
                     n_max: int = 1000,
                     n_min: int = 2) -> np.ndarray:
    """Decreasing counts from ``n_max`` to ``n_min`` summing to ``total``.

    ``log n_c = log n_max - log(n_max / n_min) * x_c ** q`` with
    ``x_c = c / (C - 1)`` (``q = 1`` is the CIFAR-LT exponential profile);
    ``q`` is found by bisection so the counts sum to ``total``, then the
    rounding error is spread over the middle classes.
    """
    x = np.arange(num_classes) / (num_classes - 1)

    def profile(q):
        return np.exp(np.log(n_max) - np.log(n_max / n_min) * x**q)

    lo, hi = 1e-3, 50.0
    for _ in range(200):
        q = (lo + hi) / 2
        lo, hi = (q, hi) if profile(q).sum() < total else (lo, q)
    counts = np.clip(np.round(profile(q)), n_min, n_max).astype(np.int64)
    diff = total - int(counts.sum())
    step = 1 if diff > 0 else -1
    i = 0
    while diff != 0:
        j = num_classes // 4 + i % (num_classes // 2)
        if n_min < counts[j] + step < n_max:
            counts[j] += step
            diff -= step
        i += 1
    return np.sort(counts)[::-1].copy()


class LabelsOnly:
    """The part of a dataset the samplers read: labels and class counts."""

    def __init__(self, counts: np.ndarray) -> None:
        self.labels = np.repeat(np.arange(len(counts)), counts)
        self.metainfo = dict(class_counts=counts.tolist(),
                             classes=[str(i) for i in range(len(counts))])

    def __len__(self) -> int:
        return len(self.labels)

    def get_gt_labels(self) -> np.ndarray:
        return self.labels


def timed(fn, repeat: int):
    """Median wall time of ``repeat`` calls, then the tracemalloc peak of
    one more call (tracing slows numpy down, so it is never timed)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return statistics.median(times), peak


def sampler_name(cfg: dict) -> str:
    return cfg['type'] + ''.join(
        f' {k}={v}' for k, v in cfg.items() if k != 'type')


def bench_samplers(dataset, repeat: int):
    """Per sampler: build time, one epoch as the vectorised index array
    (``rank_indices``) and as the DataLoader sees it (``list(iter())``)."""
    rows = []
    for cfg in SAMPLERS:
        t0 = time.perf_counter()
        try:
            sampler = DATA_SAMPLERS.build(
                dict(cfg, seed=0, rank=0, world_size=1),
                default_args=dict(dataset=dataset))
        except KeyError as e:
            rows.append(dict(sampler=sampler_name(cfg),
                             error=f'not registered: {e}'))
            continue
        build_s = time.perf_counter() - t0
        epoch = [0]

        def next_epoch():
            sampler.set_epoch(epoch[0])
            epoch[0] += 1

        def as_array():
            next_epoch()
            idx = sampler.rank_indices()
            assert len(idx) == len(sampler)

        def as_list():
            next_epoch()
            idx = list(iter(sampler))
            assert len(idx) == len(sampler)

        array_s, array_peak = timed(as_array, repeat)
        list_s, list_peak = timed(as_list, repeat)
        rows.append(dict(
            sampler=sampler_name(cfg), epoch_len=len(sampler),
            build_s=round(build_s, 4), array_s=round(array_s, 4),
            list_s=round(list_s, 4), array_peak_mib=round(
                array_peak / 2**20, 1),
            list_peak_mib=round(list_peak / 2**20, 1), target_s=0.5,
            ok=list_s < 0.5))
    return rows


# Tensor methods that read tensor data on the host; on an accelerator each
# is a device-to-host copy that waits for the device. ``numpy()`` is left
# out: it fails on device tensors, so it only ever follows one of these.
HOST_READS = ('cpu', 'item', 'tolist', '__int__', '__float__', '__index__',
              '__bool__')


@contextmanager
def count_host_reads():
    """Count the host reads of tensor data (see ``HOST_READS``) and their
    bytes while the block runs; ``to()`` counts when it targets the CPU.

    Yields:
        dict: ``calls`` and ``bytes``, updated as the block runs.
    """
    stats = dict(calls=0, bytes=0)
    originals = {name: getattr(torch.Tensor, name) for name in HOST_READS}
    originals['to'] = torch.Tensor.to

    def record(t):
        stats['calls'] += 1
        stats['bytes'] += t.numel() * t.element_size()

    def wrap(name):
        orig = originals[name]

        def counted(self, *args, **kwargs):
            if name != 'to':
                record(self)
            else:
                targets = list(args) + [kwargs.get('device')]
                if any(isinstance(a, (str, torch.device))
                       and torch.device(a).type == 'cpu' for a in targets
                       if a is not None):
                    record(self)
            return orig(self, *args, **kwargs)

        return counted

    for name in originals:
        setattr(torch.Tensor, name, wrap(name))
    try:
        yield stats
    finally:
        for name, orig in originals.items():
            setattr(torch.Tensor, name, orig)


def _bench(name: str, build, make_batches, repeat: int) -> dict:
    """Time ``process`` over ``make_batches()`` plus ``compute_metrics``;
    then one untimed run each for the tracemalloc peak and the host reads.
    """

    def one_eval(hooks=None):
        metric = build()
        spent = cpu = 0.0
        batches = 0
        for samples in make_batches():
            t0, c0 = time.perf_counter(), time.process_time()
            if hooks is None:
                metric.process(None, samples)
            else:
                with count_host_reads() as stats:
                    metric.process(None, samples)
                hooks['calls'] += stats['calls']
                hooks['bytes'] += stats['bytes']
            spent += time.perf_counter() - t0
            cpu += time.process_time() - c0
            batches += 1
        results_bytes = len(pickle.dumps(metric.results))
        t0, c0 = time.perf_counter(), time.process_time()
        metric.compute_metrics(metric.results)
        spent += time.perf_counter() - t0
        cpu += time.process_time() - c0
        return spent, cpu, batches, results_bytes

    runs = [one_eval()[:2] for _ in range(repeat)]
    tracemalloc.start()
    try:
        one_eval()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    reads = dict(calls=0, bytes=0)
    batches, results_bytes = one_eval(reads)[2:]
    sec = statistics.median(r[0] for r in runs)
    cpu_s = statistics.median(r[1] for r in runs)
    return dict(metric=name, seconds=round(sec, 4), cpu_s=round(cpu_s, 4),
                peak_mib_incl_scores=round(peak / 2**20, 1),
                host_reads_per_batch=round(reads['calls'] / batches, 1),
                host_copy_mib=round(reads['bytes'] / 2**20, 1),
                results_kib=round(results_bytes / 2**10, 1))


def bench_metric(counts: np.ndarray, repeat: int, out_dir: str):
    """``ShotAccuracy.process`` over all predictions (batches of 256) plus
    ``compute_metrics``; making the random scores and the sample dicts is
    not counted. The samples hold the rows of one ``(B, C)`` score tensor,
    as a head hands them."""
    num_classes = len(counts)
    labels = np.repeat(np.arange(num_classes), NUM_VAL_PER_CLASS)
    n = len(labels)
    batch = 256

    def build():
        return METRICS.build(
            dict(type='ShotAccuracy', topk=(1, 5),
                 class_counts=counts.tolist(), out_dir=out_dir,
                 print_table=False))

    def make_batches():
        rng = np.random.default_rng(0)
        for s in range(0, n, batch):
            y = labels[s:s + batch]
            scores = torch.from_numpy(
                rng.random((len(y), num_classes), dtype=np.float32))
            yield [
                dict(gt_label=torch.tensor([int(t)]), pred_score=sc)
                for t, sc in zip(y, scores)
            ]

    row = _bench('ShotAccuracy topk=(1, 5)', build, make_batches, repeat)
    return dict(row, num_predictions=n, num_classes=num_classes,
                target_s=1.0, ok=row['seconds'] < 1.0)


def bench_expert_metric(counts: np.ndarray, repeat: int,
                        num_experts: int = 3):
    """``ExpertAccuracy`` over all predictions with ``num_experts`` experts
    (batches of 256, each sample an ``(E, C)`` slice of the batch's
    ``(B, E, C)`` logits, as ``NCLMultiExpertClassifier`` hands them); the
    logits are made per batch and not counted."""
    num_classes = len(counts)
    labels = np.repeat(np.arange(num_classes), NUM_VAL_PER_CLASS)
    n = len(labels)
    batch = 256

    def build():
        return METRICS.build(dict(type='ExpertAccuracy'))

    def make_batches():
        gen = torch.Generator().manual_seed(0)
        for s in range(0, n, batch):
            y = labels[s:s + batch]
            logits = torch.randn(len(y), num_experts, num_classes,
                                 generator=gen)
            yield [
                dict(gt_label=torch.tensor([int(t)]), expert_logits=lg)
                for t, lg in zip(y, logits)
            ]

    row = _bench(f'ExpertAccuracy E={num_experts}', build, make_batches,
                 repeat)
    return dict(row, num_predictions=n, num_classes=num_classes,
                num_experts=num_experts)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument(
        '--scale', type=float, default=1.0,
        help='fraction of the iNat-2018 size (tests use a small one)')
    parser.add_argument(
        '--tiny', action='store_true',
        help='smoke mode for the tests: --scale 0.01 --repeat 1')
    args = parser.parse_args(argv)
    # keep stdout pure JSON (the metric logs where it wrote its file)
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    if args.tiny:
        args.scale, args.repeat = 0.01, 1
    torch.set_num_threads(1)
    num_classes = max(10, int(NUM_CLASSES * args.scale))
    num_train = max(num_classes * 3, int(NUM_TRAIN * args.scale))
    counts = long_tail_counts(num_classes, num_train)
    dataset = LabelsOnly(counts)
    with tempfile.TemporaryDirectory() as tmp:
        result = dict(
            scale=args.scale, repeat=args.repeat,
            num_train=int(counts.sum()), num_classes=num_classes,
            max_count=int(counts.max()), min_count=int(counts.min()),
            samplers=bench_samplers(dataset, args.repeat),
            metric=bench_metric(counts, args.repeat, tmp),
            expert_metric=bench_expert_metric(counts, args.repeat))
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            f.write(text)
    return result


if __name__ == '__main__':
    main()
