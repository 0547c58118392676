# Copyright (c) ltplug contributors. All rights reserved.
"""``benchmarks/data_scale.py`` runs at a tiny size and reports every
sampler and both metrics (so the script cannot rot)."""
import importlib.util
import json
import os.path as osp

import numpy as np

from tests.helpers import ROOT, run_tool

SAMPLER_KEYS = {
    'sampler', 'epoch_len', 'build_s', 'array_s', 'list_s', 'array_peak_mib',
    'list_peak_mib', 'target_s', 'ok'
}

METRIC_KEYS = {
    'metric', 'seconds', 'cpu_s', 'peak_mib_incl_scores',
    'host_reads_per_batch', 'host_copy_mib', 'results_kib',
    'num_predictions', 'num_classes'
}


def _load_module():
    spec = importlib.util.spec_from_file_location(
        'data_scale', osp.join(ROOT, 'benchmarks', 'data_scale.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_inat_profile():
    """The full-size profile is the one the benchmark claims."""
    counts = _load_module().long_tail_counts()
    assert len(counts) == 8142
    assert counts.sum() == 437513
    assert counts.max() == 1000 and counts.min() == 2
    assert np.all(np.diff(counts) <= 0)


def test_data_scale_tiny(tmp_path):
    out = tmp_path / 'data_scale.json'
    proc = run_tool(['benchmarks/data_scale.py', '--tiny', '--json',
                     str(out)], timeout=300)
    result = json.loads(out.read_text())
    assert set(result) == {
        'scale', 'repeat', 'num_train', 'num_classes', 'max_count',
        'min_count', 'samplers', 'metric', 'expert_metric'
    }
    assert result['scale'] == 0.01 and result['repeat'] == 1
    names = [row['sampler'].split()[0] for row in result['samplers']]
    assert names == [
        'ClassAwareSampler', 'ClassAwareSampler', 'SquareRootSampler',
        'ProgressivelyBalancedSampler', 'ClassBalancedResampleSampler'
    ]
    for row in result['samplers']:
        assert set(row) == SAMPLER_KEYS, row  # no 'error' row
        assert row['epoch_len'] == result['num_train']
        assert row['list_s'] > 0 and row['array_s'] > 0
        assert row['ok'] == (row['list_s'] < row['target_s'])
    metric = result['metric']
    assert metric['num_predictions'] == 3 * result['num_classes']
    assert metric['seconds'] > 0
    assert metric['ok'] == (metric['seconds'] < 1.0)
    expert = result['expert_metric']
    assert expert['metric'] == 'ExpertAccuracy E=3'
    assert expert['num_predictions'] == metric['num_predictions']
    for row in (metric, expert):
        assert set(row) >= METRIC_KEYS, row
        assert row['seconds'] > 0 and row['cpu_s'] > 0
        # one host read of the small results per batch of 256 (243
        # predictions here: one batch)
        assert row['host_reads_per_batch'] == 1.0, row
        assert 0 < row['results_kib'] < 40, row
    # stdout is the same JSON (the metric's log line is silenced)
    assert json.loads(proc.stdout) == result
