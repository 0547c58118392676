# Copyright (c) ltplug contributors. All rights reserved.
"""End-to-end checks of tools/train.py, tools/test.py and the dist scripts on
a tiny generated image list (no real data needed)."""
import glob
import json
import os.path as osp

import pytest
import torch

from tests.helpers import run_tool
from tests.support.tiny_data import make_image_list, write_tiny_config


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('tiny_list'))
    make_image_list(root)
    return root


def test_train_resume_and_test(tiny, tmp_path):
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), tiny, max_epochs=2)
    work = str(tmp_path / 'work')
    out = run_tool(['tools/train.py', cfg, '--work-dir', work]).stdout
    assert osp.isfile(osp.join(work, 'epoch_2.pth')), out[-3000:]

    # --resume with no path: picks the latest checkpoint (a full MMEngine
    # checkpoint with message hub, optimizer and numpy state) on torch>=2.6
    cfg3 = write_tiny_config(str(tmp_path / 'cfg3.py'), tiny, max_epochs=3)
    out = run_tool(['tools/train.py', cfg3, '--work-dir', work,
                    '--resume']).stdout
    assert 'resumed epoch: 2' in out.replace('Resumed', 'resumed') or \
        'resumed epoch: 2, iter' in out, out[-3000:]
    assert osp.isfile(osp.join(work, 'epoch_3.pth'))
    assert 'Epoch(train)   [1]' not in out  # did not start over

    # load_from of a full checkpoint in tools/test.py, with metrics out
    metrics_file = str(tmp_path / 'metrics.json')
    out = run_tool(['tools/test.py', cfg3, osp.join(work, 'epoch_3.pth'),
                    '--work-dir', str(tmp_path / 'test'), '--out',
                    metrics_file, '--out-item', 'metrics']).stdout
    with open(metrics_file) as f:
        metrics = json.load(f)
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0
    # the progress bar counted the 4 test batches
    assert '4/4' in out, out[-2000:]


def test_dist_train_two_cpu_processes(tiny, tmp_path):
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), tiny, max_epochs=2)
    work = str(tmp_path / 'work')
    out = run_tool(['tools/dist_train.sh', cfg, '2', '--work-dir', work],
                   timeout=600).stdout
    records = []
    for rank in (0, 1):
        path = osp.join(work, f'indices_rank{rank}.json')
        assert osp.isfile(path), f'rank {rank} did not run:\n{out[-3000:]}'
        with open(path) as f:
            records.append(json.load(f))
    assert all(r['world_size'] == 2 for r in records)
    for epoch in ('0', '1'):
        a = records[0]['epochs'][epoch]
        b = records[1]['epochs'][epoch]
        # each rank saw its own half of the 32 images
        assert len(a) == len(b) == 16
        assert not set(a) & set(b)
        assert set(a) | set(b) == set(range(32))
    w0 = torch.load(osp.join(work, 'weights_rank0.pth'))
    w1 = torch.load(osp.join(work, 'weights_rank1.pth'))
    assert w0.keys() == w1.keys()
    for k in w0:
        if k.endswith('num_batches_tracked'):
            continue
        if 'running_' in k:
            continue  # BN statistics are per rank (no SyncBN)
        assert torch.equal(w0[k], w1[k]), k
    assert glob.glob(osp.join(work, 'epoch_2.pth'))


def test_dist_test_counts_every_image_once(tmp_path):
    """2-process testing: ShotAccuracy sees each of the 33 images once (the
    sampler pads to 34; the padding duplicate must not be counted)."""
    data = str(tmp_path / 'data')
    per_class = [12, 9, 7, 5]
    make_image_list(data, per_class=per_class)
    extra = ("val_evaluator = dict(type='ShotAccuracy', topk=(1, ), "
             'class_counts=[150, 50, 30, 10], out_dir=' +
             repr(str(tmp_path / 'metric')) + ')\n'
             'test_evaluator = val_evaluator\n')
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), data, extra=extra,
                            max_epochs=1)
    work = str(tmp_path / 'work')
    run_tool(['tools/train.py', cfg, '--work-dir', work, '--no-validate'])
    out = run_tool(['tools/dist_test.sh', cfg,
                    osp.join(work, 'epoch_1.pth'), '2', '--work-dir',
                    str(tmp_path / 'test')]).stdout
    assert 'shot/many' in out, out[-3000:]
    with open(tmp_path / 'metric' / 'per_class_accuracy.json') as f:
        per_class_json = json.load(f)
    rows = per_class_json['per_class'] if isinstance(per_class_json, dict) \
        else per_class_json
    got = [r['num_test'] for r in rows]
    assert got == per_class, per_class_json
