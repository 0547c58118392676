# Copyright (c) ltplug contributors. All rights reserved.
"""Safe loading of local checkpoints on torch >= 2.6.

torch >= 2.6 loads with ``weights_only=True`` by default, which refuses the
full checkpoints MMEngine 0.10.x writes (their ``message_hub`` holds
:class:`mmengine.logging.HistoryBuffer` objects and numpy arrays). The usual
workarounds (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` or ``weights_only=False``)
let any pickle run arbitrary code.

:func:`load_checkpoint_safely` keeps ``weights_only=True`` and allows only
data-only types that MMEngine checkpoints contain (numpy arrays, numpy dtypes
and scalars, ``HistoryBuffer`` and a few containers). Anything else, for
example a pickle that would call ``os.system``, is refused with
:class:`UnsafeCheckpointError`, which names the file and the offending
globals, and says how to convert a file you trust.

A file that cannot be read as a checkpoint at all gets one
:class:`CheckpointReadError` that names the file and says what it is: empty,
truncated (an interrupted save or copy), a text file (e.g. a config passed as
the checkpoint), or not a torch checkpoint.

Importing ``ltplug`` registers :func:`load_from_local_safely` as MMEngine's
loader for local paths, so ``--resume``, ``load_from`` and ``init_cfg``
(``Pretrained``) all go through it.
"""
import os.path as osp
import pickle
from collections import OrderedDict
from typing import Any, Callable, Optional, Tuple, Union

import torch
from mmengine.runner.checkpoint import CheckpointLoader

from .checkpoint_format import (CheckpointReadError, check_readable,
                                checkpoint_format, owner_prefix)
from .safe_globals import (CONVERT_HINT, UnsafeCheckpointError,
                           allowed_checkpoint_global, numpy_dtype_classes,
                           pickle_globals, resolve_global, unsafe_globals)

__all__ = [
    'UnsafeCheckpointError', 'CheckpointReadError', 'load_checkpoint_safely',
    'checkpoint_format', 'load_state_dict_file',
    'load_from_local_safely', 'register_safe_local_loader',
    'allowed_checkpoint_global', 'CONVERT_HINT'
]

_TRUNCATED_HINTS = ('unexpected EOF', 'truncated', 'Ran out of input',
                    'failed finding central directory',
                    'failed reading zip archive')
_CODE_HINTS = ('Unsupported global', 'Unsupported class', 'GLOBAL ',
               'REDUCE', 'BUILD', 'not an allowed global')


def load_checkpoint_safely(filename: str,
                           map_location: Optional[Union[str, Callable,
                                                        torch.device]] = None,
                           owner: Optional[str] = None) -> Any:
    """Load a local checkpoint with ``weights_only=True``.

    Args:
        filename (str): Path of the checkpoint.
        map_location (str | callable | torch.device, optional): As for
            :func:`torch.load`. Defaults to None.
        owner (str, optional): Who loads it (e.g. ``'teacher 0 ("a.py")'``);
            errors start with it. Defaults to None.

    Returns:
        Any: The loaded object (usually a dict).

    Raises:
        FileNotFoundError: If ``filename`` does not exist.
        CheckpointReadError: If the file is empty, truncated, corrupt, a
            text file or not a torch checkpoint; the message names the file
            and says which.
        UnsafeCheckpointError: If the pickle needs a global that could run
            code; the message names the file and the globals.
    """
    filename = osp.expanduser(filename)
    where = f'{owner_prefix(owner)}checkpoint "{filename}"'
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{where} does not exist')
    fmt = check_readable(filename, owner)
    if fmt == 'pickle':
        refused = sorted({
            n for n in pickle_globals(filename)
            if not allowed_checkpoint_global(n)
        })
        if refused:
            raise UnsafeCheckpointError(
                f'Refusing to load {where}: a pickle (not written by '
                f'torch.save) that needs {refused}, which could execute code '
                'when loaded')
    needed = unsafe_globals(filename) if fmt == 'zip' else []
    refused = sorted(n for n in needed if not allowed_checkpoint_global(n))
    if refused:
        raise UnsafeCheckpointError(
            f'Refusing to load {where}: its pickle needs '
            f'{refused}, which could execute code when loaded. ' +
            CONVERT_HINT.format(path=filename))
    safe = []
    for name in needed:
        try:
            safe.append(resolve_global(name))
        except (ImportError, AttributeError):
            raise UnsafeCheckpointError(
                f'Refusing to load {where}: it needs the '
                f'global {name!r}, which cannot be imported here. ' +
                CONVERT_HINT.format(path=filename))
    if needed:
        safe.extend(numpy_dtype_classes())
    try:
        with torch.serialization.safe_globals(safe):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        text = str(e)
        if any(h in text for h in _TRUNCATED_HINTS):
            raise CheckpointReadError(
                f'{where} is truncated: its data ends early (an interrupted '
                'save or copy?); use an earlier checkpoint or copy it again',
                filename, 'truncated') from None
        if fmt == 'pickle' and not any(h in text for h in _CODE_HINTS):
            raise CheckpointReadError(
                f'{where} is not a torch checkpoint: a pickle without '
                "torch.save's header", filename, 'not_checkpoint') from None
        raise UnsafeCheckpointError(
            f'Refusing to load {where} with weights_only=True:'
            f' {e}\n' + CONVERT_HINT.format(path=filename)) from e
    except (EOFError, RuntimeError, OSError) as e:
        text = str(e)
        truncated = any(h in text for h in _TRUNCATED_HINTS)
        if isinstance(e, EOFError) or truncated or \
                (isinstance(e, OSError) and fmt == 'zip'):
            raise CheckpointReadError(
                f'{where} is truncated or corrupt: torch cannot read it '
                f'({type(e).__name__}: {text.splitlines()[0] if text else ""}'
                '); use an earlier checkpoint or copy it again', filename,
                'truncated') from None
        if fmt in ('pickle', 'legacy') and 'magic number' in text:
            raise CheckpointReadError(
                f'{where} is not a torch checkpoint: a pickle without '
                "torch.save's header", filename, 'not_checkpoint') from None
        raise CheckpointReadError(
            f'{where} is corrupt: torch cannot read it ({type(e).__name__}: '
            f'{text.splitlines()[0] if text else ""})', filename,
            'corrupt') from None


def load_state_dict_file(filename: str,
                         owner: Optional[str] = None,
                         map_location: Optional[Union[str, Callable,
                                                      torch.device]] = 'cpu'
                         ) -> Tuple[OrderedDict, Any]:
    """The state dict of a checkpoint file, DataParallel's ``module.``
    prefixes removed.

    Args:
        filename (str): Path of the checkpoint.
        owner (str, optional): Who loads it; errors start with it.
            Defaults to None.
        map_location (str | callable | torch.device, optional): As for
            :func:`torch.load`. Defaults to 'cpu'.

    Returns:
        tuple[OrderedDict, Any]: The state dict and the whole loaded
        checkpoint (for its ``meta``).

    Raises:
        ValueError: If the file holds no state dict; the errors of
            :func:`load_checkpoint_safely`.
    """
    ckpt = load_checkpoint_safely(filename, map_location=map_location,
                                  owner=owner)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{owner_prefix(owner)}checkpoint "{filename}" '
                         'holds no state_dict (it holds a '
                         f'{type(ckpt).__name__})')
    state = OrderedDict((k[7:] if k.startswith('module.') else k, v)
                        for k, v in state.items())
    return state, ckpt


def load_from_local_safely(filename: str, map_location=None) -> Any:
    """MMEngine ``CheckpointLoader`` scheme for local paths.

    The name starts with ``load_from_`` because MMEngine logs
    ``fn.__name__[10:]`` as the loader's name.

    Args:
        filename (str): Local path (``~`` is expanded).
        map_location (optional): As for :func:`torch.load`.
    """
    return load_checkpoint_safely(filename, map_location=map_location)


def register_safe_local_loader() -> None:
    """Make :func:`load_from_local_safely` MMEngine's local loader."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_safely, force=True)
