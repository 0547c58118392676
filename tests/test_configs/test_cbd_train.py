# Copyright (c) ltplug contributors. All rights reserved.
"""CBD end to end on a few hundred real CIFAR-10 images (ResNet-20, CPU).

A stage-1 teacher (the vanilla CIFAR-10-LT config, one epoch, trained once
for the module) feeds stage 2:

* CBD_ENS (4 teachers: the vanilla and data_aug configs, 2 each, all with
  the one trained checkpoint), single process, 2 epochs; a hook counts
  the labels the class-balanced sampler feeds (near uniform although the
  train set is 48 .. 4 images per class) and checks the teachers in the
  real run (eval mode, frozen, byte-identical after the steps);
* CBD (1 teacher) under the 2-process CPU/gloo ``dist_train.sh``.
"""
import glob
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import load_checkpoint
from mmpretrain.registry import DATASETS, DATA_SAMPLERS, MODELS

from tests.helpers import ROOT, free_port, run_tool

CFG_DIR = osp.join(ROOT, 'configs', 'cbd')
T_VANILLA = 'cbd-teacher_resnet32_1xb128-200e_cifar10-lt-r100.py'
T_AUG = 'cbd-teacher-aug_resnet32_1xb128-200e_cifar10-lt-r100.py'
CBD = 'cbd_resnet32_1xb128-200e_cifar10-lt-r100.py'
CBD_ENS = 'cbd-ens_resnet32_1xb128-200e_cifar10-lt-r100.py'

# train set: LT profile int(48 * (1/12) ** (c / 9)) = 48 36 27 21 16 12 9 7 5 4
N_MAX, RATIO = 48, 12.
COUNTS = [int(N_MAX * (1 / RATIO)**(c / 9)) for c in range(10)]

HOOK = '''
import hashlib
import json
import os.path as osp

from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


def _digest(module):
    h = hashlib.sha256()
    for k, v in module.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@HOOKS.register_module(force=True)
class CBDRecordHook(Hook):
    """Labels seen per epoch and the teachers' state, per rank."""

    def __init__(self):
        self.labels = {}
        self.checks = []

    def _model(self, runner):
        m = runner.model
        return m.module if is_model_wrapper(m) else m

    def before_train(self, runner):
        model = self._model(runner)
        self.before = [_digest(t) for t in model.teachers]
        ignored = getattr(runner.model, 'parameters_to_ignore', None)
        self.ddp_ignored = None if ignored is None else sorted(ignored)
        self.teacher_keys = sorted(
            n for n, _ in list(model.named_parameters()) +
            list(model.named_buffers()) if n.startswith('teachers.'))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        model = self._model(runner)
        labels = [int(s.gt_label[0]) for s in data_batch['data_samples']]
        self.labels.setdefault(str(runner.epoch), []).extend(labels)
        self.checks.append(dict(
            student_training=model.training,
            teachers_training=any(m.training for t in model.teachers
                                  for m in t.modules()),
            teachers_grad=any(p.requires_grad or p.grad is not None
                              for p in model.teachers.parameters())))

    def after_train(self, runner):
        model = self._model(runner)
        rank, world = get_dist_info()
        with open(osp.join(runner.work_dir,
                           f'cbd_record_e{runner.epoch}_r{rank}.json'),
                  'w') as f:
            json.dump(dict(world_size=world, labels=self.labels,
                           checks=self.checks, before=self.before,
                           after=[_digest(t) for t in model.teachers],
                           ddp_ignored=self.ddp_ignored,
                           teacher_keys=self.teacher_keys), f)
'''


def _require_components():
    for registry, name in ((DATASETS, 'CIFAR10LT'),
                           (DATASETS, 'LongTailSubset'),
                           (DATA_SAMPLERS, 'ClassBalancedResampleSampler')):
        if registry.get(name) is None:
            pytest.skip(f'{name} (another engineer\'s) is not registered')


def _data_text(root: str) -> str:
    """Tiny train (LT 48..4 per class) / val (4 per class) sets."""
    return f'''
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(
        _delete_=True, type='LongTailSubset', imbalance_ratio={RATIO},
        n_max={N_MAX},
        dataset=dict(
            type='CIFAR10LT', data_root={root!r}, split='train',
            imbalance_ratio=1., max_per_class={N_MAX}, check_md5=False,
            pipeline={{{{_base_.train_dataloader.dataset.pipeline}}}})))
val_dataloader = dict(
    batch_size=20, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={root!r}, max_per_class=4, check_md5=False))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=2),
                     checkpoint=dict(interval=1))
'''


def _write(path, text) -> str:
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def _teacher_cfg(tmp, name: str, root: str) -> str:
    """The real stage-1 config, shrunk to ResNet-20 and the tiny data."""
    text = (f'_base_ = [{osp.join(CFG_DIR, name)!r}]\n'
            'model = dict(backbone=dict(depth=20))\n' + _data_text(root))
    return _write(tmp / ('tiny_' + name), text)


@pytest.fixture(scope='module')
def teachers(cifar10_root, tmp_path_factory):
    """Train the vanilla stage-1 teacher once (1 epoch, seed 1). The
    data_aug config differs only in its train pipeline (tested in
    test_cbd_configs.py), so its tiny version serves as the config of the
    data_aug teachers, with the same checkpoint. Returns
    ``{'vanilla': cfg, 'aug': cfg, 'ckpt': path}``."""
    _require_components()
    tmp = tmp_path_factory.mktemp('cbd_stage1')
    vanilla = _teacher_cfg(tmp, T_VANILLA, cifar10_root)
    work = str(tmp / 'work_vanilla')
    run_tool(['tools/train.py', vanilla, '--work-dir', work,
              '--cfg-options', 'randomness.seed=1'], timeout=300)
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    return dict(vanilla=vanilla, aug=_teacher_cfg(tmp, T_AUG, cifar10_root),
                ckpt=ckpt)


def _student_cfg(tmp, base: str, specs, root: str) -> str:
    teachers = [dict(name=n, config=c, checkpoint=k) for n, c, k in specs]
    text = (f'_base_ = [{osp.join(CFG_DIR, base)!r}]\n'
            "custom_imports = dict(imports=['ltplug', 'cbd_record_hook'],\n"
            '                      allow_failed_imports=False)\n'
            f'model = dict(backbone=dict(depth=20), teachers={teachers!r})\n'
            'custom_hooks = [dict(type="ClassCountsHook"),\n'
            '                dict(type="InvalidLossStopHook"),\n'
            '                dict(type="RNGStateHook"),\n'
            '                dict(type="CBDRecordHook")]\n')
    return _write(tmp / ('tiny_' + base), text + _data_text(root))


def _env(tmp, monkeypatch) -> dict:
    """The record hook importable here and in the subprocesses."""
    _write(tmp / 'cbd_record_hook.py', HOOK)
    monkeypatch.syspath_prepend(str(tmp))
    return dict(PYTHONPATH=ROOT + os.pathsep + str(tmp))


def _scalars(work: str) -> list:
    rows = []
    for path in sorted(glob.glob(osp.join(work, '*', 'vis_data',
                                          'scalars.json'))):
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    assert rows, f'no scalars.json under {work}'
    return rows


def _records(work: str, epoch: int) -> list:
    paths = sorted(glob.glob(osp.join(work, f'cbd_record_e{epoch}_r*.json')))
    assert paths, f'no record for epoch {epoch} in {work}'
    recs = []
    for p in paths:
        with open(p) as f:
            recs.append(json.load(f))
    return recs


def _check_teachers_untouched(rec: dict, k: int) -> None:
    assert len(rec['before']) == k
    # byte-identical weights and BN buffers after the training steps
    assert rec['after'] == rec['before']
    assert rec['checks'], 'no training step recorded'
    for c in rec['checks']:
        assert c['student_training'] and not c['teachers_training']
        assert not c['teachers_grad']


def _check_losses(work: str) -> None:
    train = [r for r in _scalars(work) if 'loss_distill' in r]
    assert train
    for r in train:
        assert r['loss'] == pytest.approx(r['loss_cls'] + r['loss_distill'],
                                          rel=1e-4)
        # 0.4 * 100 * mean(1 - cos), cos in [-1, 1]
        assert 0. <= r['loss_distill'] <= 80.


def _check_student_checkpoint(path: str, student_cfg: str, k: int) -> None:
    """Checkpoints hold the student only and load (MMEngine's resume path,
    strict) into a freshly built distiller, whose teachers keep their own
    checkpoints."""
    ckpt = torch.load(path, map_location='cpu', weights_only=False)
    keys = list(ckpt['state_dict'])
    assert not any(key.startswith('teachers.') for key in keys)
    assert any(key.startswith('neck.fc.') for key in keys)
    from mmengine.config import Config
    model = MODELS.build(Config.fromfile(student_cfg).model)
    assert len(model.teachers) == k
    before = {key: v.clone() for key, v in model.teachers.state_dict().items()}
    load_checkpoint(model, path, map_location='cpu', strict=True)
    for key, v in model.teachers.state_dict().items():
        assert torch.equal(v, before[key]), key
    torch.testing.assert_close(model.neck.fc.weight,
                               ckpt['state_dict']['neck.fc.weight'])


def test_cbd_ens_four_teachers_and_balanced_labels(teachers, cifar10_root,
                                                  tmp_path, monkeypatch):
    vanilla, aug = teachers['vanilla'], teachers['aug']
    ckpt = teachers['ckpt']
    specs = [('vanilla_seed1', vanilla, ckpt),
             ('vanilla_seed2', vanilla, ckpt),
             ('data_aug_seed1', aug, ckpt), ('data_aug_seed2', aug, ckpt)]
    cfg = _student_cfg(tmp_path, CBD_ENS, specs, cifar10_root)
    work = str(tmp_path / 'work')
    env = _env(tmp_path, monkeypatch)
    out = run_tool(['tools/train.py', cfg, '--work-dir', work,
                    '--cfg-options', 'train_cfg.max_epochs=2'],
                   env=env, timeout=300).stdout
    assert osp.isfile(osp.join(work, 'epoch_2.pth')), out[-3000:]
    _check_losses(work)

    (rec, ) = _records(work, 2)
    _check_teachers_untouched(rec, 4)
    labels = rec['labels']['0'] + rec['labels']['1']
    # two epochs of N = sum(COUNTS) = 185 samples each, in full batches of
    # 16 (drop_last)
    n = sum(COUNTS)
    assert len(labels) == 2 * (n // 16) * 16
    freq = np.bincount(labels, minlength=10)
    # class-balanced: every class ~ 352 / C = 35 draws although the data
    # hold 48 .. 4 images (instance sampling: ~91 .. 8)
    expected = len(labels) / 10
    assert freq.min() >= 0.5 * expected and freq.max() <= 1.5 * expected, \
        freq.tolist()
    instance = len(labels) * np.array(COUNTS) / n
    assert abs(freq - expected).sum() < 0.5 * abs(instance - expected).sum()
    _check_student_checkpoint(osp.join(work, 'epoch_2.pth'), cfg, 4)


def test_cbd_one_teacher_dist_train_two_processes(teachers, cifar10_root,
                                                  tmp_path, monkeypatch):
    cfg = _student_cfg(tmp_path, CBD, [('vanilla_seed1', teachers['vanilla'],
                                        teachers['ckpt'])],
                       cifar10_root)
    work = str(tmp_path / 'work')
    env = _env(tmp_path, monkeypatch)
    env['PORT'] = str(free_port())
    out = run_tool(['tools/dist_train.sh', cfg, '2', '--work-dir', work],
                   env=env, timeout=300).stdout
    recs = _records(work, 1)
    assert len(recs) == 2, out[-3000:]
    n = sum(COUNTS)
    seen = []
    for rec in recs:
        assert rec['world_size'] == 2
        _check_teachers_untouched(rec, 1)
        # DDP neither broadcasts nor all-reduces the teachers (weights and
        # BN buffers), and nothing else is ignored
        assert rec['teacher_keys']
        assert rec['ddp_ignored'] == rec['teacher_keys']
        seen += rec['labels']['0']
    # the two ranks share one epoch of ~N class-balanced samples (each rank
    # drops its last incomplete batch)
    assert n - 2 * 16 <= len(seen) <= n + 2
    assert np.bincount(seen, minlength=10).min() > 0
    _check_losses(work)
    _check_student_checkpoint(osp.join(work, 'epoch_1.pth'), cfg, 1)
