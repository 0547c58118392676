# Copyright (c) ltplug contributors. All rights reserved.
"""TensorBoard logging through MMEngine's visualizer backends
(docs/logging.md): a tiny 2-epoch run with ``LocalVisBackend`` +
``TensorboardVisBackend``; the event file holds ShotAccuracy's scalars per
group with the values of the local ``scalars.json``.

Needs the ``tensorboard`` package (in the ``tests`` extra of setup.py).
"""
import glob
import json
import math
import os.path as osp

import pytest
from tensorboard.backend.event_processing.event_accumulator import \
    EventAccumulator

from tests.helpers import run_tool
from tests.support.tiny_data import make_image_list, write_tiny_config

# training counts given to ShotAccuracy: class 0 many (> 100), class 1
# medium, classes 2 and 3 few (< 20): every group has a class
EXTRA = '''
val_evaluator = dict(type='ShotAccuracy', topk=(1, 2),
                     class_counts=[150, 50, 10, 8])
test_evaluator = val_evaluator
visualizer = dict(
    type='UniversalVisualizer',
    vis_backends=[dict(type='LocalVisBackend'),
                  dict(type='TensorboardVisBackend')])
'''
GROUP_TAGS = ('shot/many', 'shot/medium', 'shot/few')


def read_local_scalars(path):
    """``{tag: {step: value}}`` of LocalVisBackend's scalars.json."""
    out = {}
    with open(path) as f:
        for line in f:
            row = json.loads(line)
            step = row.pop('step')
            for tag, value in row.items():
                out.setdefault(tag, {})[step] = value
    return out


def test_shot_accuracy_scalars_in_tensorboard(tmp_path):
    data = str(tmp_path / 'data')
    make_image_list(data, per_class=4)
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), data, extra=EXTRA,
                            max_epochs=2)
    work = str(tmp_path / 'work')
    run_tool(['tools/train.py', cfg, '--work-dir', work], timeout=300)

    vis = glob.glob(osp.join(work, '*', 'vis_data'))
    assert len(vis) == 1, vis
    events = glob.glob(osp.join(vis[0], 'events.out.tfevents.*'))
    assert len(events) == 1, events
    local = read_local_scalars(osp.join(vis[0], 'scalars.json'))

    acc = EventAccumulator(events[0], size_guidance={'scalars': 0})
    acc.Reload()
    tags = set(acc.Tags()['scalars'])
    for tag in GROUP_TAGS + ('shot/top1', 'shot/top2'):
        assert tag in tags, sorted(tags)
        tb = {e.step: e.value for e in acc.Scalars(tag)}
        # validated after each of the 2 epochs
        assert sorted(tb) == sorted(local[tag]) == [1, 2], (tag, tb)
        for step, value in local[tag].items():
            assert not math.isnan(value), (tag, step)
            assert 0.0 <= value <= 100.0
            assert tb[step] == pytest.approx(value, rel=1e-6, abs=1e-6)
    # training scalars go to both backends as well
    assert 'loss' in tags and 'lr' in tags
    assert {e.step for e in acc.Scalars('loss')} == set(local['loss'])

    # docs/logging.md: per-class accuracy plotted straight from the work dir
    png = str(tmp_path / 'per_class.png')
    out = run_tool(['tools/analysis/plot_per_class.py', '--work-dir', work,
                    '-o', png], timeout=120).stdout
    assert osp.join(osp.dirname(vis[0]), 'per_class_accuracy.json') in out
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
