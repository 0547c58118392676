# Copyright (c) ltplug contributors. All rights reserved.
import math
import os.path as osp
from typing import List, Optional, Tuple

import torch
from mmengine.dist import (all_gather_object, all_reduce, get_comm_device,
                           get_dist_info)
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


class InvalidLossError(RuntimeError):
    """Raised when a training loss becomes NaN or infinite."""


@HOOKS.register_module()
class InvalidLossStopHook(Hook):
    """Stop training at the first non-finite loss, saying where.

    After every training iteration each logged value whose key contains
    ``loss`` is checked. A NaN or infinite value raises
    :class:`InvalidLossError` naming the epoch, the iteration, the rank(s),
    the key and the value, and the last checkpoint saved before it (to
    ``--resume`` from). Raising here, in ``after_train_iter`` at priority
    ``VERY_HIGH``, comes before ``CheckpointHook`` (``VERY_LOW``) can save
    the diverged weights, so the last good checkpoint stays the newest one.
    MMEngine's ``CheckInvalidLossHook`` checks only every ``interval``
    iterations and does not say where the run stopped.

    In distributed training all ranks decide together: each rank's verdict
    is summed in one all-reduce of a one-element tensor per iteration (on the
    process group's device), so when one rank alone sees a non-finite loss,
    whose gradient the all-reduce has already spread into every rank's
    weights, every rank raises at the same iteration with the same message,
    and none saves a checkpoint or waits for a rank that stopped. Only then
    are the ranks' findings gathered for the message.
    """

    priority = 'VERY_HIGH'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Check the losses of this iteration, on all ranks together."""
        rank, world_size = get_dist_info()
        bad = self._local_flag(outputs)
        if world_size > 1:
            # every rank takes part, also with no outputs, or the others
            # would wait for it
            flag = bad.to(get_comm_device(), torch.int32).reshape(1)
            all_reduce(flag, op='sum')
            bad = flag
        if not bool(bad.item()):
            return
        findings = [(rank, key, value)
                    for key, value in self._invalid_values(outputs)]
        last = self._last_checkpoint(runner)
        if world_size > 1:
            gathered = all_gather_object((findings, last))
            findings = [f for rank_findings, _ in gathered
                        for f in rank_findings]
            last = gathered[0][1]  # rank 0 writes ``last_checkpoint``
        raise InvalidLossError(
            self._message(runner, batch_idx, findings, last, world_size))

    @staticmethod
    def _loss_items(outputs: Optional[dict]) -> list:
        """The ``(key, value)`` pairs of ``outputs`` that are losses."""
        if not outputs:
            return []
        return [(k, v) for k, v in outputs.items() if 'loss' in k]

    def _local_flag(self, outputs: Optional[dict]) -> torch.Tensor:
        """1 if a loss of this rank is non-finite, else 0, computed where
        the losses are (no host sync for tensors)."""
        flags = []
        for _, value in self._loss_items(outputs):
            if isinstance(value, torch.Tensor):
                flags.append(~torch.isfinite(value.detach()).all())
            else:
                flags.append(torch.tensor(not math.isfinite(float(value))))
        if not flags:
            return torch.zeros((), dtype=torch.int32)
        device = flags[0].device
        return torch.stack([f.to(device) for f in flags]).any().to(
            torch.int32)

    def _invalid_values(self,
                        outputs: Optional[dict]) -> List[Tuple[str, float]]:
        """The non-finite losses of this rank as ``(key, value)``."""
        found = []
        for key, value in self._loss_items(outputs):
            if isinstance(value, torch.Tensor):
                value = value.detach().float()
                if bool(torch.isfinite(value).all()):
                    continue
                nonfinite = value[~torch.isfinite(value)]
                found.append((key, float(nonfinite.reshape(-1)[0])))
            elif not math.isfinite(float(value)):
                found.append((key, float(value)))
        return found

    @staticmethod
    def _message(runner, batch_idx: int, findings: list,
                 last: Optional[str], world_size: int) -> str:
        """The error message, the same on every rank."""
        if findings:
            what = '; '.join(
                f'{key} became {value}' +
                (f' on rank {rank}' if world_size > 1 else '')
                for rank, key, value in findings)
        else:
            what = 'a loss became non-finite'
        stopped = (f'Training stopped on all {world_size} ranks; '
                   if world_size > 1 else 'Training stopped; ')
        return (
            f'{what} at epoch {runner.epoch + 1}, iteration '
            f'{runner.iter + 1} (batch {batch_idx + 1} of the epoch). '
            + stopped +
            (f'the last good checkpoint is {last} (restart with '
             f'--resume {last}, e.g. with a lower learning rate).'
             if last else 'no checkpoint was saved before it.'))

    @staticmethod
    def _last_checkpoint(runner) -> Optional[str]:
        path = osp.join(runner.work_dir, 'last_checkpoint')
        if not osp.isfile(path):
            return None
        with open(path) as f:
            return f.read().strip() or None
