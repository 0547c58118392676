# Copyright (c) ltplug contributors. All rights reserved.
"""Strict checkpoints (issue 18.1, 18.2): tools/test.py, load_from and
--resume stop on a checkpoint that does not fit the model, or that cannot be
read, with a message that names the file and the config; partial loading is
explicit (``allow_partial_load`` / ``--allow-partial``) and logged."""
import glob
import os.path as osp
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

from ltplug.utils import CheckpointMismatchError, CheckpointReadError
from ltplug.utils.strict_load import PARTIAL_HINT
from tests.helpers import ROOT, load_script, run_tool
from tests.support.tiny_data import make_image_list, write_tiny_config


def _tool(name):
    return load_script(f'tools/{name}.py', f'ltplug_tool_{name}')


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """Configs (ResNet-20 / ResNet-32 / a 5-class head) and checkpoints."""
    root = tmp_path_factory.mktemp('strict')
    data = str(root / 'data')
    make_image_list(data)
    cfgs = dict(r20=write_tiny_config(str(root / 'r20.py'), data,
                                      max_epochs=1))
    for name, model in (
            ('r32', 'dict(backbone=dict(depth=32))'),
            ('c5', 'dict(head=dict(num_classes=5), '
             'data_preprocessor=dict(num_classes=5))')):
        cfgs[name] = str(root / f'{name}.py')
        with open(cfgs[name], 'w') as f:
            f.write(f"_base_ = ['r20.py']\nmodel = {model}\n")
    ckpts = {}
    for name, path in cfgs.items():
        torch.manual_seed(0)
        model = MODELS.build(Config.fromfile(path).model)
        ckpts[name] = str(root / f'{name}.pth')
        torch.save(dict(meta=dict(epoch=1, iter=8),
                        state_dict=model.state_dict()), ckpts[name])
    backbone = {k: v for k, v in torch.load(ckpts['r20'])['state_dict']
                .items() if k.startswith('backbone.')}
    ckpts['backbone'] = str(root / 'backbone_only.pth')
    torch.save(dict(state_dict=backbone), ckpts['backbone'])
    return dict(cfgs=cfgs, ckpts=ckpts, root=root)


def _test(tiny, tmp_path, cfg, ckpt, *extra):
    out = str(tmp_path / 'metrics.json')
    metrics = _tool('test').main([
        tiny['cfgs'][cfg], ckpt, '--work-dir',
        str(tmp_path / 'work'), '--no-progress', '--out', out,
        '--out-item', 'metrics', '--cfg-options',
        f'experiment_name={_unique()}', *extra
    ])
    return metrics, out


def _unique():
    """A fresh experiment (and so logger) name: runners built in the same
    second from the same config would share MMEngine's logger."""
    return f'strict_{uuid.uuid4().hex[:8]}'


def _log_text(work):
    text = ''
    for path in glob.glob(osp.join(work, '*', '*.log')):
        with open(path) as f:
            text += f.read()
    return text


def test_matching_checkpoint_tests(tiny, tmp_path):
    metrics, out = _test(tiny, tmp_path, 'r20', tiny['ckpts']['r20'])
    assert 0 <= metrics['accuracy/top1'] <= 100
    assert osp.isfile(out)


@pytest.mark.parametrize('cfg,ckpt,kind,key', [
    # ResNet-20 weights in a ResNet-32 config: blocks missing
    ('r32', 'r20', 'missing', 'backbone.layer1.3.conv1.weight'),
    # ResNet-32 weights in a ResNet-20 config: all ResNet-20 keys fit, the
    # extra blocks are unexpected
    ('r20', 'r32', 'unexpected', 'backbone.layer1.3.conv1.weight'),
    # a head of another size
    ('r20', 'c5', 'mis-shaped', 'head.fc.weight (5, 64) in the file, '
     '(4, 64) in the model'),
])
def test_test_tool_refuses_a_checkpoint_that_does_not_fit(
        tiny, tmp_path, cfg, ckpt, kind, key):
    with pytest.raises(CheckpointMismatchError) as err:
        _test(tiny, tmp_path, cfg, tiny['ckpts'][ckpt])
    msg = str(err.value)
    assert f'checkpoint "{tiny["ckpts"][ckpt]}"' in msg
    assert f'config "{tiny["cfgs"][cfg]}"' in msg
    assert f'{kind} key(s)' in msg and key in msg, msg
    assert msg.splitlines()[-1] == PARTIAL_HINT
    assert not osp.exists(tmp_path / 'metrics.json')


def test_test_tool_allow_partial_loads_and_logs(tiny, tmp_path):
    metrics, _ = _test(tiny, tmp_path, 'r20', tiny['ckpts']['backbone'],
                       '--allow-partial')
    assert 'accuracy/top1' in metrics
    log = _log_text(str(tmp_path / 'work'))
    assert 'does not fully fit' in log
    assert 'missing key(s)' in log and 'head.fc.weight' in log


def _runner(tiny, tmp_path, cfg, **options):
    config = Config.fromfile(tiny['cfgs'][cfg])
    config.work_dir = str(tmp_path / 'work')
    config.experiment_name = _unique()
    config.merge_from_dict(options)
    return Runner.from_cfg(config)


def test_load_from_backbone_only_needs_allow_partial(tiny, tmp_path):
    backbone = tiny['ckpts']['backbone']
    runner = _runner(tiny, tmp_path, 'r20', load_from=backbone)
    with pytest.raises(CheckpointMismatchError, match='head.fc.bias'):
        runner.train()

    runner = _runner(tiny, tmp_path / 'b', 'r20', load_from=backbone,
                     allow_partial_load=True)
    runner.train()
    assert osp.isfile(tmp_path / 'b' / 'work' / 'epoch_1.pth')
    log = _log_text(str(tmp_path / 'b' / 'work'))
    assert f'checkpoint "{backbone}" does not fully fit' in log
    assert 'head.fc.weight' in log


def test_allow_partial_load_must_be_a_bool(tiny, tmp_path):
    runner = _runner(tiny, tmp_path, 'r20', load_from=tiny['ckpts']['r20'],
                     allow_partial_load='yes')
    with pytest.raises(TypeError, match="allow_partial_load.*'yes'"):
        runner.train()


def test_resume_is_strict_even_with_allow_partial(tiny, tmp_path):
    runner = _runner(tiny, tmp_path, 'r32', load_from=tiny['ckpts']['r20'],
                     resume=True, allow_partial_load=True)
    with pytest.raises(CheckpointMismatchError) as err:
        runner.train()
    assert 'Resuming needs a checkpoint of the same model' in str(err.value)
    assert tiny['cfgs']['r32'] in str(err.value)


def test_explicit_strict_false_still_loads(tiny, tmp_path):
    runner = _runner(tiny, tmp_path, 'r20')
    runner.load_checkpoint(tiny['ckpts']['backbone'], strict=False)
    want = torch.load(tiny['ckpts']['backbone'])['state_dict']
    got = runner.model.state_dict()
    assert all(torch.equal(got[k], v) for k, v in want.items())


def test_cli_last_line_is_the_message(tiny, tmp_path):
    """In a shell: non-zero exit, and the last line is ltplug's message,
    not a torch traceback."""
    proc = run_tool(['tools/test.py', tiny['cfgs']['r32'],
                     tiny['ckpts']['r20'], '--work-dir',
                     str(tmp_path / 'w1')], check=False)
    assert proc.returncode != 0
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == PARTIAL_HINT, proc.stdout[-3000:]
    assert any(line.startswith('ltplug.utils.strict_load.'
                               'CheckpointMismatchError: checkpoint "')
               for line in lines)

    empty = str(tmp_path / 'empty.pth')
    open(empty, 'wb').close()
    proc = run_tool(['tools/test.py', tiny['cfgs']['r20'], empty,
                     '--work-dir', str(tmp_path / 'w2')], check=False)
    assert proc.returncode != 0
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith('ltplug.utils.checkpoint.CheckpointReadError: '
                           f'checkpoint "{empty}" is empty'), last


@pytest.mark.parametrize('case', ['truncated', 'config'])
def test_test_tool_names_an_unreadable_checkpoint(tiny, tmp_path, case):
    if case == 'truncated':
        with open(tiny['ckpts']['r20'], 'rb') as f:
            data = f.read()
        path = str(tmp_path / 'half.pth')
        with open(path, 'wb') as f:
            f.write(data[:len(data) // 2])
        phrase = 'is truncated'
    else:
        path = tiny['cfgs']['r20']
        phrase = 'did you pass a config as the checkpoint'
    with pytest.raises(CheckpointReadError) as err:
        _test(tiny, tmp_path, 'r20', path)
    assert f'checkpoint "{path}"' in str(err.value)
    assert phrase in str(err.value)


def test_tau_norm_config_loads_its_ce_checkpoint_strictly(tmp_path):
    """The shipped load_from user: tau-norm tests the CE checkpoint as is
    (TauNormClsHead keeps LinearClsHead's keys), so strict loading fits."""
    ce = Config.fromfile(osp.join(
        ROOT, 'configs/ce/ce_resnet32_1xb128-200e_cifar10-lt-r100.py'))
    torch.manual_seed(0)
    model = MODELS.build(ce.model)
    ckpt = str(tmp_path / 'ce.pth')
    torch.save(dict(meta=dict(epoch=200), state_dict=model.state_dict()),
               ckpt)
    cfg = Config.fromfile(
        osp.join(ROOT,
                 'configs/decoupling/tau-norm_resnet32_cifar10-lt-r100.py'))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = _unique()
    runner = Runner.from_cfg(cfg)
    runner.load_checkpoint(ckpt)  # strict by default: no error
    got = runner.model.state_dict()
    for k, v in model.state_dict().items():
        assert torch.equal(got[k], v), k


def test_train_refuses_a_pretrained_backbone_that_does_not_fit(
        tiny, tmp_path):
    """A cRT-style ``init_cfg=dict(type='Pretrained', prefix='backbone.')``
    (issue 18.1): ResNet-20 stage-one weights for a ResNet-32 backbone stop
    training before the first step, naming the file and the module."""
    ckpt = tiny['ckpts']['r20']
    runner = _runner(tiny, tmp_path, 'r32', **{
        'model.backbone.init_cfg': dict(type='Pretrained', checkpoint=ckpt,
                                        prefix='backbone.')})
    with pytest.raises(CheckpointMismatchError) as err:
        runner.train()
    msg = str(err.value)
    assert msg.startswith(f'Pretrained: checkpoint "{ckpt}" (prefix '
                          "'backbone.') does not fit module \"backbone\" "
                          '(CIFARResNet):'), msg
    assert 'backbone.layer1.3.conv1.weight' not in msg
    assert 'layer1.3.conv1.weight' in msg
    assert not osp.exists(tmp_path / 'work' / 'epoch_1.pth')

    # a 5-class stage one: only the backbone is taken, the 4-class head is
    # trained from its own initialisation
    runner = _runner(tiny, tmp_path / 'c5', 'r20', **{
        'model.backbone.init_cfg': dict(type='Pretrained',
                                        checkpoint=tiny['ckpts']['c5'],
                                        prefix='backbone.')})
    runner.train()
    assert osp.isfile(tmp_path / 'c5' / 'work' / 'epoch_1.pth')
