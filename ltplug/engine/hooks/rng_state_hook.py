# Copyright (c) ltplug contributors. All rights reserved.
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the random number generators' states in checkpoints and restore
    them on resume.

    MMEngine's resume restores weights, optimizer, schedulers and the
    message hub, but not Python's, numpy's and torch's global generators, so
    the data augmentation drawn in the main process (``num_workers=0``) and
    any random draw in the model differ after a resume. With this hook a run
    killed right after a checkpoint and resumed draws the same numbers as an
    uninterrupted one. (Samplers already derive their order from
    ``seed + epoch``; workers are re-seeded by MMEngine.) The states are
    plain data: the checkpoint still loads with ``weights_only=True``.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the generators' states under ``checkpoint['rng_state']``."""
        checkpoint['rng_state'] = _get_states()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the states on resume (not for ``load_from`` alone)."""
        state = checkpoint.get('rng_state')
        if state is None or not getattr(runner, '_resume', False):
            return
        _set_states(state)
        runner.logger.info('RNGStateHook: restored the random generators '
                           'of the checkpoint')


def _get_states() -> dict:
    np_state = np.random.get_state()
    return dict(
        python=random.getstate(),
        numpy=(np_state[0], np_state[1], int(np_state[2]), int(np_state[3]),
               float(np_state[4])),
        torch=torch.get_rng_state(),
    )


def _set_states(state: dict) -> None:
    random.setstate(_to_tuple(state['python']))
    np.random.set_state(tuple(state['numpy']))
    torch.set_rng_state(state['torch'])


def _to_tuple(obj):
    if isinstance(obj, list):
        return tuple(_to_tuple(o) for o in obj)
    if isinstance(obj, tuple):
        return tuple(_to_tuple(o) for o in obj)
    return obj
