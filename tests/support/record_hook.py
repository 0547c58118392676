# Copyright (c) ltplug contributors. All rights reserved.
"""Test-only hook: records what each rank trained on and its final weights.

Imported by test configs through ``custom_imports`` (with the repository
root on ``PYTHONPATH``).
"""
import json
import os.path as osp

import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


@HOOKS.register_module(force=True)
class RecordTrainingHook(Hook):
    """Writes ``indices_rank{r}.json`` (sample indices per epoch) and
    ``weights_rank{r}.pth`` (final state dict) into the work dir."""

    def __init__(self):
        self.seen = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        samples = data_batch['data_samples']
        idx = [int(s.sample_idx) if 'sample_idx' in s else -1
               for s in samples]
        self.seen.setdefault(str(runner.epoch), []).extend(idx)

    def after_train(self, runner):
        rank, world = get_dist_info()
        with open(osp.join(runner.work_dir, f'indices_rank{rank}.json'),
                  'w') as f:
            json.dump(dict(world_size=world, epochs=self.seen), f)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()},
                   osp.join(runner.work_dir, f'weights_rank{rank}.pth'))
