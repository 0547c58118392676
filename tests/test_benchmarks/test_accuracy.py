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
