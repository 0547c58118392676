# Copyright (c) ltplug contributors. All rights reserved.
"""``tools/misc/gpu_acceptance.sh --full`` (CE, Balanced Softmax and NCL at
their configs' full schedules with the batched augmentation) runs end to
end on the CPU with ``--full-iters``: the step-time estimate is printed
before the rest of each run and equals step time x the schedule's
iterations, the JSON and the table give top-1 / many / medium / few next
to the published figures, the built models really ran
``BatchAugDataPreprocessor``, and a failed run exits non-zero."""
import json
import math
import os.path as osp
import re
import sys

import pytest
from mmengine.config import Config

from tests.conftest import shared_path
from tests.helpers import ROOT, run_tool

sys.path.insert(0, osp.join(ROOT, 'tools', 'misc'))
import gpu_acceptance as ga  # noqa: E402

sys.path.remove(osp.join(ROOT, 'tools', 'misc'))

#: the batchaug configs and the per-sample configs they vary
REFERENCES = {
    'ce': 'configs/ce/ce_resnet32_1xb128-200e_cifar10-lt-r100.py',
    'balanced_softmax': 'configs/balanced_softmax/balanced-softmax_'
    'resnet32_1xb128-200e_cifar10-lt-r100.py',
    'ncl': 'configs/ncl/ncl_resnet32_1xb64-400e_cifar10-lt-r100.py',
}
ESTIMATE = re.compile(
    r'\[gpu_acceptance\] estimate (\w+): ([\d.]+) ms/step \(mean of (\d+) '
    r'steps after (\d+) warm-up\) x (\d+) steps \((\d+) epochs x (\d+)\) = '
    r'([\d.]+) s')
# tiny data: 4 training images per class (40), batch 8 -> 5 steps an epoch
TINY = ['--device', 'cpu', '--train-per-class', '4', '--test-per-class',
        '4', '--batch-size', '8', '--workers', '0', '--full-warmup-iters',
        '2', '--full-timed-iters', '3', '--full-log-interval', '1']


@pytest.fixture(scope='module')
def bundle(tmp_path_factory):
    src = shared_path('data', 'cifar10', 'cifar10_jpeg_bytes.npz')
    folder = tmp_path_factory.mktemp('bundle')
    ga.make_mini(src, str(folder / ga.MINI_NAME), test_per_class=20)
    return str(folder)


def _flat(cfg: Config, drop) -> dict:
    d = cfg.to_dict()
    for key in drop:
        node = d
        *path, last = key.split('.')
        for k in path:
            node = node[k]
        node.pop(last, None)
    return d


@pytest.mark.parametrize('method', list(ga.FULL_CONFIGS))
def test_full_configs_only_swap_the_augmentation(method):
    ours = Config.fromfile(osp.join(ROOT, ga.FULL_CONFIGS[method]))
    ref = Config.fromfile(osp.join(ROOT, REFERENCES[method]))
    assert ours.train_dataloader.dataset.pipeline == [
        dict(type='PackInputs')]
    pre = ours.model.get('data_preprocessor') or ours.data_preprocessor
    ref_pre = ref.model.get('data_preprocessor') or ref.data_preprocessor
    assert pre.type == 'BatchAugDataPreprocessor'
    assert len(pre.views) == 1
    # normalisation as the reference's
    for key in ('mean', 'std', 'to_rgb', 'num_classes'):
        assert pre.get(key) == ref_pre.get(key), key
    # and nothing else differs (the schedule in the name included)
    drop = ['train_dataloader.dataset.pipeline', 'train_pipeline',
            'model.data_preprocessor', 'data_preprocessor', 'ncl_view']
    assert _flat(ours, drop) == _flat(ref, drop)
    epochs = int(re.search(r'-(\d+)e_', ga.FULL_CONFIGS[method]).group(1))
    assert ours.train_cfg.max_epochs == epochs
    if method == 'ncl':
        names = [op['type'] for op in pre.views[0]]
        assert names == ['BatchRandomCrop', 'BatchRandomFlip',
                         'BatchAutoAugment', 'BatchClippedCutout']
        assert pre.views[0][2]['policies'] == (
            ref.train_pipeline[2]['transforms'][0]['policies'])


def test_full_args_are_checked():
    with pytest.raises(SystemExit):
        # the estimate needs warm-up + timed steps
        ga.parse_args(['run', '--full', '--full-iters', '4',
                       '--full-warmup-iters', '2', '--full-timed-iters',
                       '3'])
    with pytest.raises(SystemExit):
        ga.parse_args(['run', '--full', '--full-warmup-iters', '0'])
    args = ga.parse_args(['run', '--full'])
    assert args.time_budget is None and args.full_iters is None
    assert ga.parse_args(['run']).time_budget == 460.


def test_full_failures_catch_a_per_sample_model():
    good = dict(data_preprocessor='BatchAugDataPreprocessor',
                train_pipeline=['PackInputs'], preprocessor_train_calls=6,
                iters_run=6, estimate_s=1., top1=10.)
    assert ga.full_failures('ce', good) == []
    bad = dict(good, data_preprocessor='ClsDataPreprocessor',
               preprocessor_train_calls=0)
    fails = ga.full_failures('ce', bad)
    assert len(fails) == 2 and "'ClsDataPreprocessor'" in fails[0]
    assert ga.full_failures('ce', dict(good, top1=None))
    assert ga.full_failures('ce', dict(error='boom')) == ['full/ce: boom']


def _segment(stdout: str, method: str) -> str:
    """The stdout of one run: from its first line to the next run's."""
    starts = [m.start() for m in re.finditer(
        r'\[gpu_acceptance\] full \w+: configs/', stdout)]
    start = stdout.index(f'[gpu_acceptance] full {method}: configs/')
    later = [i for i in starts if i > start]
    return stdout[start:later[0]] if later else stdout[start:]


def test_full_mode_runs_on_cpu(bundle, tmp_path):
    work = tmp_path / 'work'
    out = work / 'acceptance.json'
    proc = run_tool(['tools/misc/gpu_acceptance.sh', '--bundle', bundle,
                     '--full', '--full-iters', '6'] + TINY +
                    ['--work-dir', str(work), '--out', str(out)],
                    timeout=1500)
    result = json.loads(out.read_text())
    assert result['failures'] == [], proc.stdout[-3000:]
    assert result['mode'] == 'full' and result['device'] == 'cpu'
    assert result['train_images'] == result['test_images'] == 40
    assert set(result['runs']) == {'ce', 'balanced_softmax', 'ncl'}
    stdout = proc.stdout
    for method, rec in result['runs'].items():
        # the schedule is the config's: 200 / 200 / 400 epochs of 5 steps
        epochs = int(re.search(r'-(\d+)e_', rec['config']).group(1))
        assert (rec['max_epochs'], rec['iters_per_epoch']) == (epochs, 5)
        assert rec['total_iters'] == epochs * 5
        assert rec['iters_run'] == 6  # --full-iters
        # estimate = measured step time x the schedule's steps, printed
        # before the steps after the timed ones
        seg = _segment(stdout, method)
        found = ESTIMATE.findall(seg)
        assert len(found) == 1, seg[-2000:]
        name, ms, timed, warm, steps, ep, per_ep, est = found[0]
        assert name == method and (int(timed), int(warm)) == (3, 2)
        assert (int(steps), int(ep), int(per_ep)) == (epochs * 5, epochs,
                                                      5)
        assert float(est) == pytest.approx(
            float(ms) * 1e-3 * int(steps), abs=0.051 + 5e-7 * int(steps))
        assert float(ms) == pytest.approx(rec['step_s'] * 1e3, abs=1e-3)
        assert rec['estimate_s'] == pytest.approx(
            rec['step_s'] * rec['total_iters'], rel=1e-4)
        assert rec['step_s'] > 0 and rec['timed_samples_per_s'] > 0
        later = re.search(r'Epoch\(train\)\s+\[2\]\[1/5\]', seg)
        assert later and seg.index('estimate') < later.start()
        # the built model ran the batched augmentation on every step
        assert rec['data_preprocessor'] == 'BatchAugDataPreprocessor'
        assert rec['train_pipeline'] == ['PackInputs']
        assert rec['preprocessor_train_calls'] == 6
        assert len(rec['views']) == 1
        dumped = Config.fromfile(rec['dumped_config'])
        pre = dumped.model.get('data_preprocessor') or \
            dumped.data_preprocessor
        assert pre.type == 'BatchAugDataPreprocessor'
        assert dumped.train_cfg.max_epochs == epochs
        # results next to the published figures
        for key in ('top1', 'many', 'medium', 'few'):
            assert key in rec
        assert 0 <= rec['top1'] <= 100 and rec['few'] is not None
        assert rec['published'] == ga.FULL_PUBLISHED[method]
        assert rec['wall_s'] > 0 and rec['train_samples_per_s'] > 0
        assert rec['val_runs'] == 1  # the cut epoch is validated
        assert rec['status'] == 'passed'
    assert result['runs']['ncl']['views'][0][2] == 'BatchAutoAugment'
    assert [result['runs'][m]['published']['top1']
            for m in ('ce', 'balanced_softmax', 'ncl')] == [70.4, 83.1, 85.5]
    assert result['runs']['ncl']['published']['top1_single'] == 84.7
    assert 0 <= result['runs']['ncl']['top1_single'] <= 100
    # the printed table
    for row in ('| ce | ', '| balanced_softmax | ', '| ncl | '):
        assert row in stdout and row in result['table']
    assert '| 70.4 |' in result['table']
    assert '85.5 (single 84.7)' in result['table']
    assert '"failures": []' in stdout
    assert not math.isnan(result['wall_s'])


def test_full_mode_exits_nonzero_on_failure(bundle, tmp_path):
    work = tmp_path / 'work'
    out = work / 'acceptance.json'
    # a 1 s budget: the estimate ends past it, the run is cut and fails
    proc = run_tool(['tools/misc/gpu_acceptance.sh', '--bundle', bundle,
                     '--full', '--full-methods', 'ce', '--full-iters', '6',
                     '--time-budget', '1'] + TINY +
                    ['--work-dir', str(work), '--out', str(out)],
                    timeout=900, check=False)
    assert proc.returncode == 1, proc.stdout[-3000:]
    result = json.loads(out.read_text())
    rec = result['runs']['ce']
    assert rec['iters_run'] == 5  # stopped after warm-up + timed steps
    assert 'past --time-budget' in rec['cut_by_time_budget']
    assert len(result['failures']) == 1 and rec['status'] == 'failed'
    assert 'past --time-budget' in result['failures'][0]
