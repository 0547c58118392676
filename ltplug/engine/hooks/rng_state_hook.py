# Copyright (c) ltplug contributors. All rights reserved.
import functools
import random
from typing import Any, List, Optional, Tuple

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

# The generators one rank's state holds (``cuda`` only where CUDA was used).
_KEYS = ('python', 'numpy', 'torch')


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the random number generators' states in checkpoints and restore
    them on resume.

    MMEngine's resume restores weights, optimizer, schedulers and the
    message hub, but not Python's, numpy's, torch's and CUDA's global
    generators, so the data augmentation drawn in the main process
    (``num_workers=0``) and any random draw in the model differ after a
    resume. With this hook a run killed right after a checkpoint and resumed
    draws the same numbers as an uninterrupted one. (Samplers already derive
    their order from ``seed + epoch``; workers are re-seeded by MMEngine.)

    Every rank saves its own generators: the states of all ranks are
    gathered into the checkpoint (which rank 0 writes) as
    ``checkpoint['rng_state'] = {'world_size': W, 'ranks': [state_0, ...]}``,
    each state a dict with ``python``, ``numpy``, ``torch`` and, when CUDA is
    initialised, ``cuda`` (one state per visible device). On resume each rank
    restores its own entry. A resume with another number of processes
    restores the ranks the checkpoint has states for and logs a warning
    naming the ones it could not restore. Checkpoints written before the
    per-rank format (a single ``python``/``numpy``/``torch`` dict) are read
    as rank 0's state.

    The states are restored from any device or integer dtype: MMEngine's
    resume maps the whole checkpoint onto the current device, so on a GPU the
    CPU generator's state comes back as a CUDA tensor, which
    ``torch.set_rng_state`` refuses. Lists of ints and numpy arrays are
    accepted too. The states are saved as plain data (tensors, lists, ints,
    floats, strings), so the checkpoint still loads with
    ``weights_only=True``.

    Note:
        ``Runner.save_checkpoint`` (and so ``before_save_checkpoint``) runs on
        rank 0 only, so in distributed runs the hook wraps the runner's
        ``save_checkpoint`` in ``before_run`` to gather the states first.
        Gathering is a collective call: it needs ``runner.save_checkpoint``
        to be called on every rank, as MMEngine's ``CheckpointHook`` does
        (a call on rank 0 alone would wait for the others). The states are
        restored when the checkpoint is loaded and again right before
        training starts, so a re-seeding in between (MMEngine's resume
        re-seeds when the config has no seed) does not undo the restore.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None
        self._gathered: Optional[List[dict]] = None

    def before_run(self, runner) -> None:
        """In distributed runs, gather every rank's states whenever a
        checkpoint is saved.

        ``Runner.save_checkpoint`` runs on rank 0 only (``master_only``), and
        so does ``before_save_checkpoint``; but ``CheckpointHook`` calls it
        on every rank, so the states are gathered in a wrapper around it,
        before the call reaches rank 0's saving.
        """
        if get_dist_info()[1] == 1 or getattr(runner.save_checkpoint,
                                              '_gathers_rng_states', False):
            return
        save_checkpoint = runner.save_checkpoint

        @functools.wraps(save_checkpoint)
        def gather_then_save(*args, **kwargs):
            self._gathered = all_gather_object(get_rng_states())
            try:
                return save_checkpoint(*args, **kwargs)
            finally:
                self._gathered = None

        gather_then_save._gathers_rng_states = True  # type: ignore
        runner.save_checkpoint = gather_then_save

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store every rank's generator states under
        ``checkpoint['rng_state']``."""
        states = self._gathered
        if states is None:
            if get_dist_info()[1] > 1:
                runner.logger.warning(
                    'RNGStateHook: the checkpoint was saved without going '
                    'through the wrapper RNGStateHook.before_run installs; '
                    'only rank 0\'s random generator states are saved')
            states = [get_rng_states()]
        checkpoint['rng_state'] = dict(
            world_size=len(states), ranks=list(states))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore this rank's states on resume (not for ``load_from``
        alone)."""
        saved = checkpoint.get('rng_state')
        if saved is None or not getattr(runner, '_resume', False):
            return
        rank, world_size = get_dist_info()
        states, old_format = _split_ranks(saved)
        if rank == 0 and len(states) != world_size:
            runner.logger.warning(
                _world_size_message(len(states), world_size, old_format))
        if rank >= len(states):
            runner.logger.warning(
                f'RNGStateHook: could not restore the random generators of '
                f'rank {rank}: the checkpoint holds states for '
                f'{_ranks(0, len(states))} only; rank {rank} keeps its '
                'seeded generators.')
            return
        for problem in set_rng_states(states[rank]):
            runner.logger.warning(f'RNGStateHook: {problem}')
        self._pending = states[rank]
        runner.logger.info('RNGStateHook: restored the random generators '
                           f'of rank {rank} from the checkpoint')

    def before_train(self, runner) -> None:
        """Restore the states once more if something re-seeded the
        generators after the checkpoint was loaded."""
        if self._pending is not None:
            set_rng_states(self._pending)
            self._pending = None


def get_rng_states() -> dict:
    """This process' generator states as plain data.

    Returns:
        dict: ``python`` (a tuple), ``numpy`` (name, key as a list of ints,
        position, has-gauss flag, cached gaussian), ``torch`` (a CPU
        ``ByteTensor``) and, when CUDA is initialised, ``cuda`` (a list of
        ``ByteTensor``, one per device).
    """
    np_state = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=(str(np_state[0]), np.asarray(np_state[1]).tolist(),
               int(np_state[2]), int(np_state[3]), float(np_state[4])),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_states(state: dict) -> List[str]:
    """Restore the generators from one rank's state.

    Args:
        state (dict): As returned by :func:`get_rng_states`; the tensors may
            be on any device and of any integer dtype, or be lists of ints
            or numpy arrays.

    Returns:
        list[str]: What could not be restored (CUDA states without CUDA, or
        for another number of devices); empty when everything was.
    """
    if not isinstance(state, dict):
        raise TypeError('RNGStateHook: a rank\'s saved state must be a dict, '
                        f'but got {type(state).__name__}: {state!r:.80}')
    missing = [k for k in _KEYS if k not in state]
    if missing:
        raise KeyError(f'RNGStateHook: the saved state lacks {missing}; '
                       f'it has the keys {sorted(state)}')
    # convert everything first, so that a bad entry changes no generator
    python = _to_tuple(state['python'])
    name, keys, pos, has_gauss, cached = state['numpy']
    numpy = (str(name), _to_numpy_keys(keys), int(pos), int(has_gauss),
             float(cached))
    cpu = _to_byte_tensor(state['torch'], 'torch')
    cuda = [
        _to_byte_tensor(s, f'cuda:{i}')
        for i, s in enumerate(state.get('cuda') or [])
    ]
    random.setstate(python)
    np.random.set_state(numpy)
    torch.set_rng_state(cpu)
    problems = []
    if cuda and not torch.cuda.is_available():
        problems.append(f'the checkpoint holds {len(cuda)} CUDA generator '
                        'state(s) but CUDA is not available; they were not '
                        'restored')
    elif cuda:
        count = torch.cuda.device_count()
        if len(cuda) != count:
            problems.append(
                f'the checkpoint holds {len(cuda)} CUDA generator state(s) '
                f'but {count} device(s) are visible; restored the first '
                f'{min(count, len(cuda))}')
        torch.cuda.set_rng_state_all(cuda[:count])
    return problems


def _split_ranks(saved: Any) -> Tuple[List[dict], bool]:
    """The per-rank states of ``checkpoint['rng_state']``, and whether it is
    the old single-state format (read as rank 0's state)."""
    if not isinstance(saved, dict):
        raise TypeError('RNGStateHook: checkpoint["rng_state"] must be a '
                        f'dict, but got {type(saved).__name__}: {saved!r:.80}')
    if 'ranks' in saved:
        ranks = list(saved['ranks'])
        if not ranks:
            raise ValueError('RNGStateHook: checkpoint["rng_state"]["ranks"] '
                             f'is empty: {saved!r:.80}')
        return ranks, False
    if all(k in saved for k in _KEYS):
        return [saved], True
    raise KeyError('RNGStateHook: checkpoint["rng_state"] has neither '
                   f'"ranks" nor {list(_KEYS)}; it has {sorted(saved)}')


def _ranks(begin: int, end: int) -> str:
    """``rank 3`` or ``ranks 1-3`` for ``range(begin, end)``."""
    if end - begin == 1:
        return f'rank {begin}'
    return f'ranks {begin}-{end - 1}'


def _world_size_message(num_states: int, world_size: int,
                        old_format: bool) -> str:
    """Which ranks' states a resume with ``world_size`` processes cannot
    restore."""
    if old_format:
        msg = ('RNGStateHook: the checkpoint was written before per-rank '
               'random generator states and holds rank 0\'s only')
    else:
        msg = (f'RNGStateHook: the checkpoint holds the random generator '
               f'states of {num_states} rank(s)')
    msg += f', this run has {world_size} process(es)'
    if num_states > world_size:
        msg += (f'; could not restore the states saved for '
                f'{_ranks(world_size, num_states)} (no such rank now)')
    else:
        msg += (f'; could not restore {_ranks(num_states, world_size)} '
                '(nothing saved for them), they keep their seeded '
                'generators')
    return msg


def _to_byte_tensor(value: Any, name: str) -> torch.Tensor:
    """A generator state as the contiguous CPU ``uint8`` tensor that
    ``torch.set_rng_state`` and ``torch.cuda.set_rng_state`` accept."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach().to('cpu')
    else:
        try:
            tensor = torch.as_tensor(np.asarray(value))
        except (TypeError, ValueError, RuntimeError) as e:
            raise TypeError(
                f'RNGStateHook: the {name} generator state must be a tensor, '
                f'a numpy array or a list of bytes, but got '
                f'{type(value).__name__}: {value!r:.80}') from e
    if tensor.dtype == torch.uint8:
        return tensor.contiguous()
    if tensor.dtype.is_floating_point or tensor.dtype.is_complex or \
            tensor.dtype == torch.bool or tensor.dim() != 1:
        raise TypeError(
            f'RNGStateHook: the {name} generator state must be a 1-d '
            f'sequence of bytes, but got dtype {tensor.dtype} with shape '
            f'{tuple(tensor.shape)}')
    if tensor.numel() and (int(tensor.min()) < 0 or int(tensor.max()) > 255):
        raise ValueError(
            f'RNGStateHook: the {name} generator state must hold bytes '
            f'(0-255), but got values in [{int(tensor.min())}, '
            f'{int(tensor.max())}]')
    return tensor.to(torch.uint8).contiguous()


def _to_numpy_keys(keys: Any) -> np.ndarray:
    """numpy's MT19937 key as the ``uint32`` array ``set_state`` needs."""
    if isinstance(keys, torch.Tensor):
        keys = keys.detach().cpu().numpy()
    return np.asarray(keys, dtype=np.int64).astype(np.uint32)


def _to_tuple(obj: Any) -> Any:
    """Lists back to tuples, recursively (``random.setstate`` needs
    tuples)."""
    if isinstance(obj, (list, tuple)):
        return tuple(_to_tuple(o) for o in obj)
    return obj
