# Copyright (c) ltplug contributors. All rights reserved.
"""ShotAccuracy with ``ece_bins`` and ``test_priors`` as a Runner's
val_evaluator: the new keys reach the returned (logged) metrics and the
per-class JSON next to the log."""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import DataLoader

# (label, predicted class, confidence); counts 150 / 50 / 5, class 1 has
# no test sample. 2 bins: (0, .5] holds 0.25 x, 0.5 v, 0.0 x (acc 1/3,
# conf 1/4), (.5, 1] holds 0.75 v, 1.0 v, 0.625 x (acc 2/3, conf 2.375/3)
ROWS = [(0, 1, 0.25), (0, 0, 0.5), (2, 2, 0.75), (2, 2, 1.0), (2, 0, 0.625),
        (0, 2, 0.0)]
ECE = (0.5 * abs(1 / 3 - 0.25) + 0.5 * abs(2 / 3 - 2.375 / 3)) * 100


class ReplayModel(BaseModel):
    """Returns the prepared predictions of each sample."""

    def __init__(self):
        super().__init__()
        self.param = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = []
        for i in inputs.tolist():
            label, pred, conf = ROWS[int(i)]
            score = torch.full((3, ), -1.)
            score[pred] = conf
            out.append(dict(gt_label=torch.tensor([label]),
                            pred_score=score))
        return out


def collate(batch):
    return dict(inputs=torch.tensor(batch), data_samples=None)


def test_runner_val_reports_ece_and_priors(tmp_path):
    runner = Runner(
        model=ReplayModel(),
        work_dir=str(tmp_path),
        val_dataloader=DataLoader(list(range(len(ROWS))), batch_size=4,
                                  collate_fn=collate),
        val_cfg=dict(),
        val_evaluator=dict(type='ShotAccuracy', class_counts=[150, 50, 5],
                           ece_bins=2, test_priors=[4, 1]),
        default_scope='mmpretrain',
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        log_level='WARNING')
    metrics = runner.val()
    assert metrics['shot/ece'] == pytest.approx(ECE)
    # per-class top-1: class 0 1/3, class 2 2/3; rho 1: their mean
    assert metrics['shot/top1_rho1'] == pytest.approx(50.)
    # rho 4 over ranks 0 (class 0) and 2 (class 2): pi 1 and 1/4, / 1.25
    assert metrics['shot/top1_rho4'] == pytest.approx(
        (100 / 3 * 1 + 200 / 3 * 0.25) / 1.25)
    (path, ) = glob.glob(osp.join(str(tmp_path), '*',
                                  'per_class_accuracy.json'))
    summary = json.load(open(path))['summary']
    assert summary['ece'] == pytest.approx(ECE)
    assert summary['medium_ece'] is None
    assert summary['top1_rho4'] == metrics['shot/top1_rho4']
