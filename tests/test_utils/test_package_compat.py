# Copyright (c) ltplug contributors. All rights reserved.
"""``_base_ = 'mmpretrain::...'`` works without ``pkg_resources``, and
ltplug components work from MMPretrain's own tools/train.py."""
import os.path as osp
import re

import mmpretrain
import pytest
from mmengine.config import Config

from ltplug.utils import package_compat
from tests.helpers import ROOT, run_tool
from tests.support.tiny_data import make_image_list, write_tiny_config


def test_importlib_package_lookup():
    path = package_compat.get_installed_path('mmpretrain')
    assert osp.samefile(path, osp.dirname(mmpretrain.__file__))
    assert package_compat.is_installed('mmpretrain')
    assert package_compat.is_installed('mmengine')
    assert not package_compat.is_installed('surely_not_a_package_xyz')
    assert package_compat.package2module('mmcv-lite') == 'mmcv'
    with pytest.raises(ValueError, match='surely_not'):
        package_compat.package2module('surely_not_a_package_xyz')


def test_config_inherits_an_mmpretrain_config(tmp_path):
    cfg_file = tmp_path / 'child.py'
    cfg_file.write_text(
        "_base_ = 'mmpretrain::resnet/resnet18_8xb16_cifar10.py'\n"
        "custom_imports = dict(imports=['ltplug'], "
        'allow_failed_imports=False)\n'
        "model = dict(backbone=dict(_delete_=True, type='CIFARResNet', "
        'depth=32), head=dict(in_channels=64))\n')
    cfg = Config.fromfile(str(cfg_file))
    # inherited from MMPretrain's file ...
    assert cfg.train_dataloader.dataset.type == 'CIFAR10'
    assert cfg.model.head.num_classes == 10
    # ... and overridden here
    assert cfg.model.backbone.type == 'CIFARResNet'
    from mmpretrain.registry import MODELS
    model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == 'CIFARResNet'


def test_mmpretrain_own_train_script_uses_ltplug(tmp_path):
    """MMPretrain's tools/train.py + custom_imports=['ltplug']."""
    train_py = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools',
                        'train.py')
    if not osp.isfile(train_py):
        pytest.skip(f'MMPretrain ships no tools/train.py at {train_py}')
    data = str(tmp_path / 'data')
    make_image_list(data)
    extra = ("model['head']['loss'] = dict(type='BalancedSoftmaxLoss', "
             'class_counts=[8, 8, 8, 8])\n'
             "custom_hooks = [dict(type='RecordTrainingHook')]\n")
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), data, extra=extra,
                            max_epochs=1)
    work = str(tmp_path / 'work')
    # MMPretrain's script sets persistent_workers, which needs workers > 0
    out = run_tool([train_py, cfg, '--work-dir', work,
                    '--no-persistent-workers']).stdout
    assert osp.isfile(osp.join(work, 'epoch_1.pth')), out[-3000:]
    assert osp.isfile(osp.join(work, 'weights_rank0.pth'))
    assert re.search(r'Epoch\(train\)\s+\[1\]', out)


def test_no_numpy_removed_aliases_in_sources():
    """numpy 2: no removed aliases (np.float, np.int, np.in1d, ...)."""
    banned = re.compile(r'\bnp\.(float|int|bool|object|str|long|unicode|'
                        r'in1d|product|cumproduct|alltrue|sometrue|'
                        r'row_stack|trapz)\b(?!_|\d)')
    offenders = []
    for folder in ('ltplug', 'tools', 'benchmarks'):
        for dirpath, _, files in __import__('os').walk(osp.join(ROOT,
                                                                folder)):
            for name in files:
                if not name.endswith('.py'):
                    continue
                path = osp.join(dirpath, name)
                with open(path, encoding='utf-8') as f:
                    for i, line in enumerate(f, 1):
                        if banned.search(line):
                            offenders.append(f'{path}:{i}: {line.strip()}')
    assert not offenders, '\n'.join(offenders)

