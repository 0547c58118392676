# Copyright (c) ltplug contributors. All rights reserved.
import os.path as osp

import torch

from tests.helpers import run_tool
from tests.support.tiny_data import make_image_list, write_tiny_config


def test_nan_loss_stops_and_names_iteration(tmp_path):
    data = str(tmp_path / 'data')
    make_image_list(data)  # 32 images, batch 4 -> 8 iterations per epoch
    extra = (
        "custom_imports = dict(imports=['ltplug', 'tests.support.nan_loss'],"
        ' allow_failed_imports=False)\n'
        "model['head']['loss'] = dict(type='NaNAfterLoss', nan_from_call=12)\n"
        "custom_hooks = [dict(type='InvalidLossStopHook')]\n")
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), data, extra=extra,
                            max_epochs=3)
    work = str(tmp_path / 'work')
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work], check=False)
    assert proc.returncode != 0
    out = proc.stdout
    # call 12 is the 4th iteration of epoch 2 (global iteration 12)
    assert 'InvalidLossError' in out, out[-3000:]
    assert 'at epoch 2, iteration 12' in out, out[-3000:]
    assert 'epoch_1.pth' in out.split('InvalidLossError')[-1]
    # the last good checkpoint is kept and nothing diverged was saved
    good = torch.load(osp.join(work, 'epoch_1.pth'), weights_only=False)
    assert all(torch.isfinite(v).all() for v in good['state_dict'].values()
               if v.is_floating_point())
    assert not osp.exists(osp.join(work, 'epoch_2.pth'))
