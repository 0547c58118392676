# Copyright (c) ltplug contributors. All rights reserved.
"""Test-only hook: SIGKILL the process right after a checkpoint."""
import os
import signal

from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module(force=True)
class KillAfterCheckpointHook(Hook):
    """Kills the training process (SIGKILL, no clean-up) right after the
    checkpoint of epoch ``epoch`` is written, when ``LTPLUG_TEST_KILL=1``."""

    priority = 'LOWEST'  # after CheckpointHook (its priority is VERY_LOW)

    def __init__(self, epoch: int = 1):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if os.environ.get('LTPLUG_TEST_KILL') == '1' and \
                runner.epoch + 1 == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)
