# Copyright (c) ltplug contributors. All rights reserved.
"""Test-only hook: records each rank's random generator states when
training starts (after a resume has restored them)."""
import os.path as osp
import random

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module(force=True)
class RNGRecordHook(Hook):
    """Writes ``rng_at_iter{i}_rank{r}.pth`` into the work dir in
    ``before_train`` (``i`` is the iteration training starts from): the
    ``python``, ``numpy`` and ``torch`` generator states of rank ``r``."""

    priority = 'LOWEST'  # after RNGStateHook (VERY_LOW)

    def before_train(self, runner):
        np_state = np.random.get_state()
        state = dict(
            python=random.getstate(),
            numpy=np_state[1].tolist(),
            torch=torch.get_rng_state())
        torch.save(
            state,
            osp.join(runner.work_dir,
                     f'rng_at_iter{runner.iter}_rank{get_rank()}.pth'))
