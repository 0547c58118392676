# Copyright (c) ltplug contributors. All rights reserved.
"""``tools/misc/gpu_acceptance.sh`` cannot rot: its bundle holds exactly
CIFAR-10-LT ratio 100 (so the configs' ``CIFAR10LT`` keeps every image), its
stage list names configs that exist, and the whole script runs end to end
on the CPU (``--device cpu``, one short epoch per stage) and reports what
the GPU run reports: finite losses and metrics, images/s with the ratio to
CE, kill -9 + ``--resume`` = uninterrupted weights, ShotAccuracy."""
import json
import os.path as osp
import sys

import numpy as np
import pytest

from tests.conftest import shared_path
from tests.helpers import ROOT, run_tool

sys.path.insert(0, osp.join(ROOT, 'tools', 'misc'))
import gpu_acceptance as ga  # noqa: E402

sys.path.remove(osp.join(ROOT, 'tools', 'misc'))


@pytest.fixture(scope='module')
def bundle(tmp_path_factory):
    src = shared_path('data', 'cifar10', 'cifar10_jpeg_bytes.npz')
    folder = tmp_path_factory.mktemp('bundle')
    ga.make_mini(src, str(folder / ga.MINI_NAME), test_per_class=20)
    return str(folder)


def test_stage_configs_exist():
    for method, stages in ga.METHODS.items():
        for stage in stages:
            assert osp.isfile(osp.join(ROOT, stage.config)), (method,
                                                              stage.config)
    # every method of the accuracy benchmark, plus NCL with MoCo
    assert set(ga.METHODS) >= {'ce', 'balanced_softmax', 'lws', 'ssd',
                               'cbd', 'ncl', 'ncl_moco'}


def test_bundle_is_cifar10_lt_and_loads_whole(bundle, tmp_path):
    from mmpretrain.registry import DATASETS
    mini = np.load(osp.join(bundle, ga.MINI_NAME))
    counts = np.bincount(mini['train_labels'], minlength=10).tolist()
    # the published CIFAR-10-LT ratio-100 profile: 12,406 images
    assert counts == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert np.bincount(mini['test_labels']).tolist() == [20] * 10
    root = ga.write_cifar_batches(osp.join(bundle, ga.MINI_NAME),
                                  str(tmp_path))
    train = DATASETS.build(dict(type='CIFAR10LT', data_root=root,
                                split='train', check_md5=False))
    assert len(train) == 12406 == ga.train_size(None)
    assert train.metainfo['class_counts'] == counts
    test = DATASETS.build(dict(type='CIFAR10LT', data_root=root,
                               split='test', check_md5=False))
    assert len(test) == 200
    # decoded pixels are real images (not blank), HWC uint8 RGB
    img = train.get_data_info(0)['img']
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    assert float(img.std()) > 5


def test_script_runs_on_cpu(bundle, tmp_path):
    work = tmp_path / 'work'
    out = work / 'acceptance.json'
    proc = run_tool([
        'tools/misc/gpu_acceptance.sh', '--bundle', bundle, '--device',
        'cpu', '--iters', '1', '--train-per-class', '4',
        '--test-per-class', '4', '--batch-size', '8', '--workers', '0',
        '--methods', 'ce', 'ssd', 'ncl_moco', '--resume-methods', 'ce',
        '--work-dir', str(work), '--out', str(out)
    ], timeout=1500)
    result = json.loads(out.read_text())
    assert result['failures'] == [], proc.stdout[-3000:]
    assert result['device'] == 'cpu'
    assert 'bf16' in result['skipped']  # AmpOptimWrapper needs a GPU
    for method in ('ce', 'ssd', 'ncl_moco'):
        rec = result['methods'][method]['fp32']
        assert rec['finite'] and 0 <= rec['top1'] <= 100
        assert rec['images_per_s'] > 0 and rec['ratio_to_ce'] > 0
    assert result['methods']['ce']['fp32']['ratio_to_ce'] == 1.0
    # the SSD chain ran all three stages, each on its predecessor
    for stage in ('ssd_stage1', 'ssd_stage2', 'ssd_stage3'):
        assert osp.isdir(work / 'fp32' / stage)
    resume = result['resume']['ce']
    assert resume['equal'] and resume['max_abs_diff'] == 0.0
    assert resume['rng_restored']
    assert result['shot_accuracy']['equal']
    # the JSON is also printed, last
    assert '"failures": []' in proc.stdout
