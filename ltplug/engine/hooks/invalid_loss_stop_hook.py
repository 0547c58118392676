# Copyright (c) ltplug contributors. All rights reserved.
import math
import os.path as osp
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


class InvalidLossError(RuntimeError):
    """Raised when a training loss becomes NaN or infinite."""


@HOOKS.register_module()
class InvalidLossStopHook(Hook):
    """Stop training at the first non-finite loss, saying where.

    After every training iteration each logged value whose key contains
    ``loss`` is checked. A NaN or infinite value raises
    :class:`InvalidLossError` naming the epoch, the iteration and the value,
    and the last checkpoint saved before it (to ``--resume`` from). Raising
    here, before the epoch ends, keeps ``CheckpointHook`` from saving the
    diverged weights, so the last good checkpoint stays the newest one.
    MMEngine's ``CheckInvalidLossHook`` checks only every ``interval``
    iterations and does not say where the run stopped.
    """

    priority = 'VERY_HIGH'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Check the losses of this iteration."""
        if not outputs:
            return
        for key, value in outputs.items():
            if 'loss' not in key:
                continue
            v = float(value.detach().float().mean()) if isinstance(
                value, torch.Tensor) else float(value)
            if math.isfinite(v):
                continue
            last = self._last_checkpoint(runner)
            raise InvalidLossError(
                f'{key} became {v} at epoch {runner.epoch + 1}, iteration '
                f'{runner.iter + 1} (batch {batch_idx + 1} of the epoch). '
                'Training stopped; '
                + (f'the last good checkpoint is {last} (restart with '
                   f'--resume {last}, e.g. with a lower learning rate).'
                   if last else 'no checkpoint was saved before it.'))

    @staticmethod
    def _last_checkpoint(runner) -> Optional[str]:
        path = osp.join(runner.work_dir, 'last_checkpoint')
        if not osp.isfile(path):
            return None
        with open(path) as f:
            return f.read().strip() or None
