# Copyright (c) ltplug contributors. All rights reserved.
"""``benchmarks/accuracy.py`` cannot rot: every stage's derived config
loads with the checkpoints of its previous stages filled in, and a tiny
two-stage chain (CE -> LWS) trains, tests and writes its table."""
import json
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from tests.helpers import ROOT, run_tool

sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
import accuracy  # noqa: E402

STAGES = {s.name: s for stages in accuracy.METHODS.values() for s in stages}


@pytest.mark.parametrize('name', sorted(STAGES))
@pytest.mark.parametrize('budget', ['cpu', 'full'])
def test_stage_config_loads(name, budget, tmp_path):
    stage = STAGES[name]
    args = accuracy.parse_args(['--budget', budget, '--epochs', '7',
                                '--ft-epochs', '3'])
    fields = {k: f'/ckpt/{v}.pth' for k, v in stage.needs.items()}
    fields['teacher_config'] = osp.join(ROOT, accuracy.CBD_TEACHER.config)
    path = str(tmp_path / 'cfg.py')
    accuracy.write_stage_config(path, stage, args, '/data/c10', fields)
    cfg = Config.fromfile(path)
    ds = cfg.train_dataloader.dataset
    ds = ds.get('dataset', ds)  # wrapped datasets
    assert ds.data_root == '/data/c10' and ds.check_md5 is False
    assert cfg.val_dataloader.dataset.data_root == '/data/c10'
    if budget == 'cpu':
        assert cfg.train_cfg.max_epochs == (3 if stage.finetune else 7)
    # the previous stages' checkpoints are where the model reads them
    text = cfg.pretty_text
    for v in stage.needs.values():
        assert f'/ckpt/{v}.pth' in text


def test_tiny_chain_writes_table(cifar10_root, tmp_path):
    work = str(tmp_path / 'acc')
    run_tool(['benchmarks/accuracy.py', '--tiny', '--methods', 'lws',
              '--data-root', cifar10_root, '--work-dir', work], timeout=600)
    with open(osp.join(work, 'accuracy.json')) as f:
        result = json.load(f)
    lws = result['results']['lws']
    assert lws['stages'] == ['ce', 'lws']
    assert 0 <= lws['metrics']['shot/top1'] <= 100
    assert lws['wall_s'] > 0
    table = open(osp.join(work, 'accuracy.md')).read()
    assert '| lws |' in table and 'TINY' in table
    # the groups come from the final model's per-class file
    assert lws['per_class'].startswith(osp.join(work, 'lws'))
    assert set(lws['groups']) == {'many', 'medium', 'few', 'sizes'}


def write_per_class(path, counts, top1):
    rows = [dict(label=i, train_count=c, top1=a)
            for i, (c, a) in enumerate(zip(counts, top1))]
    with open(path, 'w') as f:
        json.dump(dict(per_class=rows), f)


def test_regroup_hand_computed(tmp_path):
    # CIFAR-10-LT ratio 100 counts; None = a class without test images
    counts = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    top1 = [90., 80., 70., 60., 50., 40., None, 20., 10., 0.]
    path = str(tmp_path / 'per_class_accuracy.json')
    write_per_class(path, counts, top1)
    g = accuracy.regroup(path, 1500, 200)
    assert g['sizes'] == dict(many=3, medium=4, few=3)
    assert g['many'] == pytest.approx(80.)  # (90 + 80 + 70) / 3
    assert g['medium'] == pytest.approx(50.)  # (60 + 50 + 40) / 3
    assert g['few'] == pytest.approx(10.)  # (20 + 10 + 0) / 3
    std = accuracy.regroup(path, 100, 20)  # the standard rule: no few
    assert std['sizes'] == dict(many=8, medium=2, few=0)
    assert std['few'] != std['few']  # nan


def test_table_only_rebuilds_with_new_thresholds(tmp_path):
    work = tmp_path / 'acc'
    (work / 'ce' / '20260101_000000').mkdir(parents=True)
    write_per_class(str(work / 'ce' / '20260101_000000' /
                        'per_class_accuracy.json'),
                    [500, 100, 10], [90., 60., 30.])
    run = dict(budget='cpu', epochs=3, ft_epochs=1, tiny=False,
               results=dict(ce=dict(stages=['ce'], wall_s=12.0,
                                    images_per_s=5.0,
                                    metrics={'shot/top1': 60.0})))
    with open(work / 'accuracy.json', 'w') as f:
        json.dump(run, f)
    assert accuracy.main(['--work-dir', str(work), '--table-only',
                          '--many-thr', '50', '--few-thr', '20']) == 0
    table = (work / 'accuracy.md').read_text()
    assert '| ce | 60.00 | 75.00 | - | 30.00 | 12 | 5.00 |' in table
    assert '3 epochs from scratch' in table
    out = json.loads((work / 'accuracy.json').read_text())
    assert out['many_thr'] == 50 and out['few_thr'] == 20
    assert out['results']['ce']['groups']['sizes'] == dict(
        many=2, medium=0, few=1)


def test_bad_thresholds_and_missing_run(tmp_path):
    with pytest.raises(SystemExit):
        accuracy.parse_args(['--many-thr', '10', '--few-thr', '20'])
    with pytest.raises(SystemExit, match='does not exist'):
        accuracy.main(['--work-dir', str(tmp_path), '--table-only'])
