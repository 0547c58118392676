# Copyright (c) ltplug contributors. All rights reserved.
"""``benchmarks/accuracy.py`` cannot rot: every stage's derived config
loads with the checkpoints of its previous stages filled in, and a tiny
two-stage chain (CE -> LWS) trains, tests and writes its table."""
import json
import os
import os.path as osp
import shutil
import subprocess
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
    fields.update(accuracy.stage_fields())
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
    lws = lws['per_seed']['0']
    assert 0 <= lws['metrics']['shot/top1'] <= 100
    assert lws['wall_s'] > 0
    table = open(osp.join(work, 'accuracy.md')).read()
    assert '| lws |' in table and 'TINY' in table
    # the groups come from the final model's per-class file
    assert lws['per_class'].startswith(osp.join(work, 'lws'))
    assert set(lws['groups']) == {'many', 'medium', 'few', 'sizes'}


def test_tiny_ncl_distill_end_to_end(cifar10_root, tmp_path):
    """ncl_distill trains its NCL teacher, then the student from that
    checkpoint; the table has the ensemble, best-expert and distilled rows
    with inference images/s against the ensemble."""
    work = str(tmp_path / 'acc')
    run_tool(['benchmarks/accuracy.py', '--tiny', '--methods',
              'ncl_distill', '--data-root', cifar10_root, '--work-dir',
              work], timeout=900)
    with open(osp.join(work, 'accuracy.json')) as f:
        result = json.load(f)['results']['ncl_distill']
    assert result['stages'] == ['ncl', 'ncl_distill']
    run = result['per_seed']['0']
    assert 0 <= run['metrics']['shot/top1'] <= 100
    assert run['infer_images_per_s'] > 0
    # ncl itself was not asked for: no ratio base
    assert run['infer_ratio'] is None
    cfg = Config.fromfile(osp.join(work, 'configs', 'ncl_distill.py'))
    assert cfg.model.teachers[0].checkpoint.startswith(
        osp.join(work, 'ncl'))
    table = open(osp.join(work, 'accuracy.md')).read()
    assert '| ncl_distill |' in table


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
    assert '| ce | 0 | 60.00 | 75.00 | - | 30.00 | 12 | 5.00 |' in table
    assert '3 epochs from scratch' in table
    out = json.loads((work / 'accuracy.json').read_text())
    assert out['many_thr'] == 50 and out['few_thr'] == 20
    # the layout before --seeds (one run at the top level) becomes seed 0
    assert out['results']['ce']['stages'] == ['ce']
    assert out['results']['ce']['per_seed']['0']['groups']['sizes'] == dict(
        many=2, medium=0, few=1)


def test_table_step_imports_this_checkouts_ltplug(tmp_path):
    """Another ``ltplug`` first on PYTHONPATH (or none installed) does not
    reach the table step: it uses the checkout its stages train with."""
    shadow = tmp_path / 'shadow' / 'ltplug'
    shadow.mkdir(parents=True)
    (shadow / '__init__.py').write_text(
        "raise ImportError('the shadow ltplug was imported')\n")
    work = tmp_path / 'acc'
    (work / 'ce' / '20260101_000000').mkdir(parents=True)
    write_per_class(str(work / 'ce' / '20260101_000000' /
                        'per_class_accuracy.json'),
                    [500, 100, 10], [90., 60., 30.])
    with open(work / 'accuracy.json', 'w') as f:
        json.dump(dict(budget='cpu', epochs=3, ft_epochs=1, tiny=False,
                       results=dict(ce=dict(stages=['ce'], wall_s=12.0,
                                            images_per_s=5.0,
                                            metrics={'shot/top1': 60.0}))),
                  f)
    run_tool(['benchmarks/accuracy.py', '--work-dir', str(work),
              '--table-only', '--many-thr', '50', '--few-thr', '20'],
             env=dict(PYTHONPATH=str(tmp_path / 'shadow')), timeout=300)
    assert '| ce | 0 | 60.00 | 75.00 |' in (work / 'accuracy.md').read_text()


def test_bad_thresholds_and_missing_run(tmp_path):
    with pytest.raises(SystemExit):
        accuracy.parse_args(['--many-thr', '10', '--few-thr', '20'])
    with pytest.raises(SystemExit, match='does not exist'):
        accuracy.main(['--work-dir', str(tmp_path), '--table-only'])


def test_ncl_rows_stage_configs(tmp_path):
    """ncl_distill's teacher is the ncl stage's checkpoint built from the
    NCL config; ncl_distill_no_kd is the distilled network's config without
    its teacher (a plain ImageClassifier, the same head, loss, sampler and
    data pipeline); ncl_single the same network with NCL's recipe for one
    expert: Balanced Softmax on instance-balanced sampling."""
    assert [s.name for s in accuracy.METHODS['ncl_distill']] == [
        'ncl', 'ncl_distill']
    args = accuracy.parse_args(['--epochs', '7'])
    args.seed = 2
    fields = dict(accuracy.stage_fields(), teacher='/ckpt/ncl.pth')
    cfgs = {}
    for name in ('ncl', 'ncl_distill', 'ncl_single', 'ncl_distill_no_kd',
                 'ncl_distill_bs'):
        path = str(tmp_path / f'{name}.py')
        accuracy.write_stage_config(path, STAGES[name], args, '/data/c10',
                                    fields)
        cfgs[name] = Config.fromfile(path)
    distill, single, no_kd, ncl, bs = (cfgs[k] for k in (
        'ncl_distill', 'ncl_single', 'ncl_distill_no_kd', 'ncl',
        'ncl_distill_bs'))
    # the other recipe: the same distiller and teacher, Balanced Softmax on
    # instance-balanced sampling
    assert [s.name for s in accuracy.METHODS['ncl_distill_bs']] == [
        'ncl', 'ncl_distill_bs']
    assert {k: v for k, v in bs.model.items() if k != 'head'} == \
        {k: v for k, v in distill.model.items() if k != 'head'}
    assert bs.model.head.loss == dict(type='BalancedSoftmaxLoss', tau=1.0)
    assert bs.model.head.num_classes == distill.model.head.num_classes
    assert bs.train_dataloader.sampler == dict(type='DefaultSampler',
                                               shuffle=True)
    spec, = distill.model.teachers
    assert spec.checkpoint == '/ckpt/ncl.pth'
    assert spec.config == osp.join(ROOT, accuracy.NCL.config)
    assert distill.model.type == 'EnsembleDistiller'
    assert distill.model.head.loss.type == 'CrossEntropyLoss'
    assert distill.train_dataloader.sampler.type == \
        'ClassBalancedResampleSampler'
    for cfg in (single, no_kd):
        assert cfg.model.type == 'ImageClassifier'
        assert set(cfg.model) == {'type', 'backbone', 'neck', 'head',
                                  'data_preprocessor'}
        assert cfg.model.backbone == distill.model.backbone
    assert no_kd.model.head == distill.model.head
    assert no_kd.train_dataloader == distill.train_dataloader
    assert {k: v for k, v in single.model.head.items() if k != 'loss'} == \
        {k: v for k, v in distill.model.head.items() if k != 'loss'}
    assert single.model.head.loss == dict(type='BalancedSoftmaxLoss',
                                          tau=1.0)
    assert single.train_dataloader.sampler == dict(type='DefaultSampler',
                                                   shuffle=True)
    assert 'ClassCountsHook' in [h['type'] for h in single.custom_hooks]
    for cfg in (distill, single, no_kd, bs):
        assert cfg.train_dataloader.dataset.pipeline == \
            ncl.train_dataloader.dataset.pipeline
        assert cfg.train_dataloader.batch_size == 64
        assert cfg.train_cfg.max_epochs == 7
        assert cfg.randomness.seed == 2



def _random_ops(transforms) -> list:
    """The per-sample pipeline's ops, wrappers (``ApplyInBGR``,
    ``RandomApply``) unwrapped (a ``RandomApply``'s ``prob`` moved into its
    op), ``PackInputs`` left out."""
    ops = []
    for t in transforms:
        if t['type'] in ('ApplyInBGR', 'RandomApply'):
            inner = _random_ops(t['transforms'])
            if t['type'] == 'RandomApply':
                inner = [dict(op, prob=t['prob']) for op in inner]
            ops += inner
        elif t['type'] != 'PackInputs':
            ops.append(dict(t))
    return ops


@pytest.mark.parametrize('batched,reference',
                         [('ce_batchaug', 'ce'), ('ncl_batchaug', 'ncl'),
                          ('ssd_stage1_batchaug', 'ssd_stage1')])
def test_batchaug_rows_differ_from_their_reference_only_in_the_data_path(
        batched, reference, tmp_path):
    """A batched row trains its reference row's stage with the augmentation
    moved into the model: after the common overrides (data root, budget,
    seed) the train pipeline is still ``PackInputs`` only and the model's
    preprocessor a ``BatchAugDataPreprocessor`` whose views hold, op for
    op, the batched counterparts (``Batch<Op>``) of the reference
    pipeline's random ops (each of SSD's two ``MultiView`` views);
    everything else is the reference's."""
    args = accuracy.parse_args(['--epochs', '7'])
    args.seed = 1
    cfgs = {}
    for name in (batched, reference):
        path = str(tmp_path / f'{name}.py')
        accuracy.write_stage_config(path, STAGES[name], args, '/data/c10',
                                    accuracy.stage_fields())
        cfgs[name] = Config.fromfile(path)
    fast, ref = cfgs[batched], cfgs[reference]
    assert [t['type'] for t in fast.train_dataloader.dataset.pipeline] == [
        'PackInputs']
    ref_pipeline = ref.train_dataloader.dataset.pipeline
    if ref_pipeline[0]['type'] == 'MultiView':
        assert ref_pipeline[0]['num_views'] == [1, 1]
        ref_views = [_random_ops(v) for v in ref_pipeline[0]['transforms']]
    else:
        ref_views = [_random_ops(ref_pipeline)]
    # the model's own, else the top-level one (which MMPretrain's runner
    # puts into a model that has none)
    pre = fast.model.get('data_preprocessor', fast.get('data_preprocessor'))
    assert pre.type == 'BatchAugDataPreprocessor'
    assert len(pre.views) == len(ref_views)
    for view, ref_ops in zip(pre.views, ref_views):
        assert [op['type'] for op in view] == [
            f"Batch{op['type']}" for op in ref_ops]
        # the parameters both spell alike have the same values
        for op, ref_op in zip(view, ref_ops):
            shared = (set(op) & set(ref_op)) - {'type'}
            assert {k: op[k] for k in shared} == \
                {k: ref_op[k] for k in shared}, op['type']
    for cfg in (fast, ref):
        assert cfg.train_dataloader.dataset.data_root == '/data/c10'
        assert cfg.randomness.seed == 1 and cfg.train_cfg.max_epochs == 7
    assert {k: v for k, v in fast.model.items()
            if k != 'data_preprocessor'} == \
        {k: v for k, v in ref.model.items() if k != 'data_preprocessor'}
    assert fast.train_dataloader.sampler == ref.train_dataloader.sampler
    assert fast.train_dataloader.batch_size == \
        ref.train_dataloader.batch_size
    assert fast.optim_wrapper == ref.optim_wrapper

def run(top1, many, wall, **kw):
    return dict(metrics={'shot/top1': top1, **kw.pop('metrics', {})},
                groups=dict(many=many, medium=50., few=float('nan'),
                            sizes=dict(many=3, medium=4, few=3)),
                wall_s=wall, images_per_s=None, **kw)


def test_table_mean_std_hand_computed(tmp_path):
    results = dict(
        ce=dict(stages=['ce'], per_seed={
            '0': run(40., 80., 100.), '1': run(42., 90., 110.),
            '2': run(44., 85., 120.)}),
        ncl=dict(stages=['ncl'], per_seed={
            '0': run(60., 70., 300., infer_images_per_s=100.,
                     infer_ratio=1.0,
                     metrics={'expert/best_single_top1': 58.}),
            '1': run(62., 70., 300., infer_images_per_s=110.,
                     infer_ratio=1.0,
                     metrics={'expert/best_single_top1': 57.})}),
        ncl_distill=dict(stages=['ncl', 'ncl_distill'], per_seed={
            '0': run(59., 70., 400., infer_images_per_s=300.,
                     infer_ratio=3.0),
            '1': run(61., 70., 400., infer_images_per_s=308.,
                     infer_ratio=2.8)}))
    args = accuracy.parse_args(['--seeds', '0', '1', '2', '--work-dir',
                                str(tmp_path)])
    table = accuracy.write_outputs(results, args)
    # top-1 (40, 42, 44): mean 42, sample std 2; many (80, 90, 85): 85, 5;
    # medium 50 three times: std 0; few nan: '-'; wall (100, 110, 120)
    assert ('| ce | 0, 1, 2 | 42.00 ± 2.00 | 85.00 ± 5.00 | 50.00 ± 0.00 | - | '
            '110 ± 10 | - | - | - | 70.4 |') in table
    # best expert (58, 57): 57.5, std sqrt(0.5) = 0.71; top-1 only
    assert '| ncl best expert | 0, 1 | 57.50 ± 0.71 | - | - | - |' in table
    assert '| ncl | 0, 1 | 61.00 ± 1.41 |' in table
    # images/s (300, 308): 304 +- 5.66; ratio (3.0, 2.8): 2.90 +- 0.14
    assert ('| ncl_distill | 0, 1 | 60.00 ± 1.41 | 70.00 ± 0.00 | 50.00 ± 0.00 | '
            '- | 400 ± 0 | - | 304.0 ± 5.7 | 2.90 ± 0.14 | - |') in table
    # the rows say which seeds they hold: ncl ran two of the three
    assert 'mean ± sample std (n - 1) over the seeds in the seeds' in table
    rows = [line.split(' | ')[0] for line in table.splitlines()
            if line.startswith('| ') and not line.startswith('| method')]
    assert rows == ['| ce', '| ncl', '| ncl best expert', '| ncl_distill']
    out = json.loads((tmp_path / 'accuracy.json').read_text())
    assert out['seeds'] == [0, 1, 2]
    top1 = out['summary']['ce']['top-1']
    assert top1['mean'] == pytest.approx(42.) and top1['n'] == 3
    assert top1['std'] == pytest.approx(2.)
    assert out['summary']['ncl_distill']['top-1']['n'] == 2
    # the per-seed values are kept
    assert out['results']['ce']['per_seed']['1']['metrics'][
        'shot/top1'] == 42.
    # one seed: plain values
    one = accuracy.parse_args(['--work-dir', str(tmp_path)])
    table = accuracy.write_table(
        dict(ce=dict(stages=['ce'], per_seed={'0': run(40., 80., 100.)})),
        one)
    assert '| ce | 0 | 40.00 | 80.00 | 50.00 | - | 100 | - |' in table
    assert 'seed 0, one run per method' in table


def fake_table_inputs(monkeypatch, fake_run_stage) -> None:
    """Patch ``accuracy`` so that ``main`` runs ``fake_run_stage`` for each
    stage, with no data and no per-class files (NaN shot groups)."""
    nan = float('nan')
    monkeypatch.setattr(accuracy, 'run_stage', fake_run_stage)
    monkeypatch.setattr(accuracy, 'prepare_data', lambda args: '/data')
    monkeypatch.setattr(accuracy, 'per_class_rows', lambda path: [])
    monkeypatch.setattr(
        accuracy, 'regroup', lambda *a: dict(
            many=nan, medium=nan, few=nan, sizes=dict(many=0, medium=0,
                                                      few=0)))


def fake_training(trained: list, new_weights: bool = False):
    """A stand-in for ``subprocess.run`` of ``tools/train.py``: it records
    the stage's work dir name in ``trained`` and writes what a finished
    run leaves (scalars, per-class file, last checkpoint; with
    ``new_weights`` a checkpoint whose bytes differ on every run)."""

    def fake_run(cmd, cwd, env, stdout, stderr):
        work = cmd[cmd.index('--work-dir') + 1]
        trained.append(osp.basename(work))
        run_dir = osp.join(work, '20260101_000000')
        os.makedirs(osp.join(run_dir, 'vis_data'), exist_ok=True)
        with open(osp.join(run_dir, 'vis_data', 'scalars.json'), 'w') as f:
            f.write(json.dumps({'shot/top1': 42.0, 'step': 1}) + '\n')
        with open(osp.join(run_dir, 'per_class_accuracy.json'), 'w') as f:
            json.dump({'per_class': []}, f)
        ckpt = osp.join(work, 'epoch_1.pth')
        if new_weights:
            with open(ckpt, 'w') as f:
                f.write(f'weights of run {len(trained)}')
        with open(osp.join(work, 'last_checkpoint'), 'w') as f:
            f.write(ckpt)
        return subprocess.CompletedProcess(cmd, 0)

    return fake_run


def test_seeds_run_every_method_per_seed(tmp_path, monkeypatch):
    """--seeds 0 1: each method's stages run once per seed, in its own
    folder and with that seed in the config; shared stages once per seed."""
    calls = []

    def fake_run_stage(stage, args, done, data_root, extra_args=()):
        if stage.name not in done:
            calls.append((args.seed, stage.name, args.work_dir))
            path = osp.join(args.work_dir, 'cfg.py')
            fields = dict(accuracy.stage_fields(),
                          **{k: '/ckpt.pth' for k in stage.needs})
            accuracy.write_stage_config(path, stage, args, data_root,
                                        fields)
            seed_line = [line for line in open(path)
                         if line.startswith('randomness')]
            assert f'seed={args.seed},' in seed_line[0]
            done[stage.name] = dict(
                work_dir=osp.join(args.work_dir, stage.name), wall_s=1.,
                images_per_s=2., metrics={'shot/top1': 50. + args.seed},
                per_class='pc.json')
        return done[stage.name]

    fake_table_inputs(monkeypatch, fake_run_stage)
    timed = []

    def fake_measure(records, args):
        timed.append(sorted(records))
        for r in records.values():
            r.update(infer_images_per_s=10., infer_ratio=1.)

    monkeypatch.setattr(accuracy, 'measure_inference', fake_measure)
    work = str(tmp_path / 'acc')
    assert accuracy.main(['--seeds', '0', '1', '--methods', 'ce', 'lws',
                          '--work-dir', work]) == 0
    assert [(s, n) for s, n, _ in calls] == [
        (0, 'ce'), (0, 'lws'), (1, 'ce'), (1, 'lws')]
    assert {w for s, _, w in calls if s == 1} == {osp.join(work, 'seed1')}
    assert timed == [['ce', 'lws'], ['ce', 'lws']]
    out = json.loads(open(osp.join(work, 'accuracy.json')).read())
    assert set(out['results']['lws']['per_seed']) == {'0', '1'}
    assert out['results']['lws']['stages'] == ['ce', 'lws']
    assert out['summary']['ce']['top-1'] == dict(
        mean=50.5, std=pytest.approx(2 ** -0.5), n=2)
    assert '| ce | 0, 1 | 50.50 ± 0.71 |' in open(
        osp.join(work, 'accuracy.md')).read()
    with pytest.raises(SystemExit):
        accuracy.parse_args(['--seeds', '1', '1'])


def test_resume_keeps_the_other_methods_rows(tmp_path, monkeypatch):
    """--resume with fewer methods (or another seed) than the work dir's
    accuracy.json holds: their rows stay in the rewritten outputs, this
    run's replace theirs; another budget in the file is refused."""
    top1 = {}

    def fake_run_stage(stage, args, done, data_root, extra_args=()):
        done[stage.name] = dict(
            work_dir=osp.join(args.work_dir, stage.name), wall_s=1.,
            images_per_s=2., metrics={'shot/top1': top1[stage.name]},
            per_class='pc.json')
        return done[stage.name]

    fake_table_inputs(monkeypatch, fake_run_stage)
    monkeypatch.setattr(accuracy, 'measure_inference', lambda r, a: None)
    work = str(tmp_path / 'acc')

    def per_seed():
        out = json.loads(open(osp.join(work, 'accuracy.json')).read())
        return out['seeds'], {m: {s: r['metrics']['shot/top1']
                                  for s, r in v['per_seed'].items()}
                              for m, v in out['results'].items()}

    top1.update(ce=40., balanced_softmax=50.)
    accuracy.main(['--methods', 'ce', 'balanced_softmax', '--work-dir',
                   work])
    top1.update(balanced_softmax=52.)
    accuracy.main(['--resume', '--methods', 'balanced_softmax',
                   '--work-dir', work])
    assert per_seed() == ([0], dict(ce={'0': 40.},
                                    balanced_softmax={'0': 52.}))
    accuracy.main(['--resume', '--methods', 'ce', '--seeds', '1',
                   '--work-dir', work])
    assert per_seed() == ([0, 1], dict(ce={'0': 40., '1': 40.},
                                       balanced_softmax={'0': 52.}))
    # without --resume the file is a new run's
    accuracy.main(['--methods', 'ce', '--work-dir', work])
    assert per_seed() == ([0], dict(ce={'0': 40.}))
    with pytest.raises(SystemExit, match='epochs=10'):
        accuracy.main(['--resume', '--methods', 'ce', '--epochs', '3',
                       '--work-dir', work])


def test_inference_speed_ensemble_slower(tmp_path):
    """The timed predict loop: a 3-expert NCL model is slower than one of
    its experts alone."""
    import torch
    from mmpretrain.registry import MODELS
    backbone = dict(type='CIFARResNet', depth=20, base_channels=8,
                    stem_channels=8)
    head = dict(type='LinearClsHead', num_classes=10, in_channels=32)
    torch.manual_seed(0)
    models = dict(
        ncl=MODELS.build(dict(
            type='NCLMultiExpertClassifier', num_experts=3,
            backbone=backbone, neck=dict(type='GlobalAveragePooling'),
            head=head, loss=dict(type='NCLLoss', hcm_n=3))).eval(),
        single=MODELS.build(dict(
            type='ImageClassifier', backbone=backbone,
            neck=dict(type='GlobalAveragePooling'), head=head)).eval())
    speed = accuracy.inference_speed(models, batch=16, iters=2, rounds=3)
    assert set(speed) == {'ncl', 'single'}
    assert 0 < speed['ncl'] < speed['single']


@pytest.mark.parametrize('method', sorted(accuracy.METHODS))
def test_every_rows_final_model_runs_the_timed_predict_loop(method, tmp_path):
    """The inference timing after a seed loads each row's final model from
    its written config (teachers left out) and feeds it through its own
    data preprocessor: every row's model takes the timed batch (SSD stage
    I's SelfSupDataPreprocessor only takes a stacked one with its data
    samples)."""
    import torch
    stage = accuracy.METHODS[method][-1]
    args = accuracy.parse_args([])
    args.seed = 0
    fields = {k: '/no/such.pth' for k in stage.needs}
    fields.update(accuracy.stage_fields())
    cfg_path = str(tmp_path / 'cfg.py')
    accuracy.write_stage_config(cfg_path, stage, args, '/data/c10', fields)
    ckpt = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict={}), ckpt)
    model = accuracy.load_predictor(cfg_path, ckpt)
    speed = accuracy.inference_speed({method: model}, batch=4, iters=1,
                                     rounds=1)
    assert speed[method] > 0


def test_ssd_stage3_names_its_teacher_in_the_teachers_vocabulary(tmp_path):
    stage = STAGES['ssd_stage3']
    args = accuracy.parse_args(['--budget', 'cpu'])
    fields = {'stage2': '/ckpt/stage2.pth', **accuracy.stage_fields()}
    path = str(tmp_path / 'cfg.py')
    accuracy.write_stage_config(path, stage, args, '/data/c10', fields)
    model = Config.fromfile(path).model
    assert 'teacher' not in model
    assert len(model.teachers) == 1
    assert model.teachers[0].checkpoint == '/ckpt/stage2.pth'
    assert model.teachers[0].config == osp.join(
        ROOT, accuracy.SSD_STAGE2.config)


def test_resume_reuses_only_stages_with_the_same_config(tmp_path,
                                                       monkeypatch):
    """--resume: a finished stage (its accuracy_stage.json) is reused when
    the config it would train now is the same, and trained again when the
    config changed (another seed) or when --resume is not given."""
    trained = []
    monkeypatch.setattr(accuracy.subprocess, 'run', fake_training(trained))
    stage = STAGES['ce']

    def run(argv):
        args = accuracy.parse_args(argv + ['--work-dir', str(tmp_path)])
        return accuracy.run_stage(stage, args, {}, '/data')

    first = run([])
    assert trained == ['ce'] and first['metrics']['shot/top1'] == 42.0
    again = run(['--resume'])
    assert trained == ['ce'], 'an unchanged finished stage is reused'
    assert again == first
    run([])
    assert trained == ['ce', 'ce'], 'without --resume it trains again'
    args = accuracy.parse_args(['--resume', '--work-dir', str(tmp_path)])
    args.seed = 5
    accuracy.run_stage(stage, args, {}, '/data')
    assert trained == ['ce', 'ce', 'ce'], 'a changed config trains again'


def test_resume_retrains_after_a_base_config_edit_or_a_new_teacher(
        tmp_path, monkeypatch):
    """--resume: the stage config names its method config by path, so an
    edit of that file (or of its base) leaves the stage file's text the
    same; the record still must not be reused. Neither may a student's
    record once its teacher was trained again (same checkpoint path, new
    weights)."""
    trained = []
    # new weights on every training
    monkeypatch.setattr(accuracy.subprocess, 'run',
                        fake_training(trained, new_weights=True))
    cfg_dir = tmp_path / 'method_configs'
    cfg_dir.mkdir()
    (cfg_dir / 'base.py').write_text('model = dict(type="A", depth=32)\n')
    (cfg_dir / 'teacher.py').write_text("_base_ = ['./base.py']\n")
    (cfg_dir / 'student.py').write_text('model = dict(type="S")\n')
    teacher = accuracy.Stage('teacher', str(cfg_dir / 'teacher.py'))
    student = accuracy.Stage('student', str(cfg_dir / 'student.py'),
                             needs={'t': 'teacher'},
                             overrides="model = dict(teacher='{t}')\n")
    args = accuracy.parse_args(['--resume', '--work-dir',
                                str(tmp_path / 'work')])

    def chain():
        done = {}
        for stage in (teacher, student):
            accuracy.run_stage(stage, args, done, '/data')

    chain()
    assert trained == ['teacher', 'student']
    chain()
    assert trained == ['teacher', 'student'], 'nothing changed: reused'
    stage_file = tmp_path / 'work' / 'configs' / 'teacher.py'
    text = stage_file.read_text()
    (cfg_dir / 'base.py').write_text('model = dict(type="A", depth=20)\n')
    chain()
    assert stage_file.read_text() == text, 'the stage file is the same'
    assert trained == ['teacher', 'student'] * 2, (
        'an edited base config trains its stage again, and the new teacher '
        'checkpoint (same path) trains its student again')
    (cfg_dir / 'student.py').write_text('model = dict(type="S2")\n')
    chain()
    assert trained == ['teacher', 'student'] * 2 + ['student']
    # a record written before the inputs were kept is not reused
    record_path = tmp_path / 'work' / 'student' / accuracy.STAGE_RECORD
    record = json.loads(record_path.read_text())
    del record['inputs']
    record_path.write_text(json.dumps(record))
    chain()
    assert trained[-1] == 'student' and len(trained) == 6


def test_merge_adds_seeds_from_another_run_without_its_work_dirs(tmp_path):
    """--table-only --merge: the per-seed runs of another accuracy.json
    (its work dirs gone: the groups come from the per-class rows it keeps)
    join the table; a seed in both runs, another budget and a run without
    rows are refused."""
    rows = [dict(train_count=n, top1=t)
            for n, t in zip([5000, 500, 50], [90., 60., 30.])]

    def write(work, seed, top1, **extra):
        work.mkdir(parents=True, exist_ok=True)
        r = dict(wall_s=10., images_per_s=5., metrics={'shot/top1': top1},
                 per_class='/gone/per_class_accuracy.json',
                 per_class_rows=rows)
        r.update(extra)
        run = dict(budget='cpu', epochs=10, ft_epochs=2, tiny=False,
                   seeds=[seed], results=dict(ce=dict(
                       stages=['ce'], per_seed={str(seed): r})))
        (work / 'accuracy.json').write_text(json.dumps(run))
        return str(work / 'accuracy.json')

    write(tmp_path / 'a', 0, 40.)
    other = write(tmp_path / 'b', 1, 44.)
    assert accuracy.main(['--work-dir', str(tmp_path / 'a'), '--table-only',
                          '--many-thr', '1000', '--few-thr', '100',
                          '--merge', other]) == 0
    out = json.loads((tmp_path / 'a' / 'accuracy.json').read_text())
    assert set(out['results']['ce']['per_seed']) == {'0', '1'}
    assert out['seeds'] == [0, 1]
    assert out['summary']['ce']['top-1']['mean'] == pytest.approx(42.)
    # groups from the kept rows: 5000 many, 500 medium, 50 few
    g = out['results']['ce']['per_seed']['1']['groups']
    assert (g['many'], g['medium'], g['few']) == (90., 60., 30.)
    assert '| ce | 0, 1 | 42.00 ± 2.83 |' in (
        tmp_path / 'a' / 'accuracy.md').read_text()
    # seed 1 is now in both
    with pytest.raises(SystemExit, match='seed 1 is in both'):
        accuracy.main(['--work-dir', str(tmp_path / 'a'), '--table-only',
                       '--merge', other])
    bad = json.loads(open(other).read())
    bad['epochs'] = 20
    (tmp_path / 'c').mkdir()
    (tmp_path / 'c' / 'accuracy.json').write_text(json.dumps(bad))
    with pytest.raises(SystemExit, match='epochs=20'):
        accuracy.main(['--work-dir', str(tmp_path / 'a'), '--table-only',
                       '--merge', str(tmp_path / 'c' / 'accuracy.json')])
    norows = write(tmp_path / 'd', 2, 41., per_class_rows=None)
    with pytest.raises(SystemExit, match='no per_class_rows'):
        accuracy.main(['--work-dir', str(tmp_path / 'a'), '--table-only',
                       '--merge', norows])
    with pytest.raises(SystemExit):
        accuracy.parse_args(['--merge', other])  # needs --table-only


def test_readme_table_is_the_committed_merged_result(tmp_path):
    """The README's seeded accuracy table is what ``--table-only`` builds
    from the committed merged ``docs/results/accuracy_cpu/accuracy.json``
    (its per-class rows), row for row: neither the table nor the README
    was edited by hand."""
    results = osp.join(ROOT, 'docs', 'results', 'accuracy_cpu')
    work = tmp_path / 'rebuilt'
    work.mkdir()
    shutil.copy(osp.join(results, 'accuracy.json'), work / 'accuracy.json')
    assert accuracy.main(['--table-only', '--work-dir', str(work)]) == 0

    def rows(text):
        return [line for line in text.splitlines()
                if line.startswith('| ') and not line.startswith('| method')]

    rebuilt = rows((work / 'accuracy.md').read_text())
    assert len(rebuilt) >= 5
    committed = rows(open(osp.join(results, 'accuracy.md')).read())
    # the inference columns are the stored per-run timings, so the rebuild
    # is exact
    assert rebuilt == committed
    readme = open(osp.join(ROOT, 'README.md'), encoding='utf-8').read()
    for row in rebuilt:
        assert row in readme, row
