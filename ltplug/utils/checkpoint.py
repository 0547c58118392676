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

Importing ``ltplug`` registers :func:`load_from_local_safely` as MMEngine's
loader for local paths, so ``--resume``, ``load_from`` and ``init_cfg``
(``Pretrained``) all go through it.
"""
import os.path as osp
import pickle
import re
from typing import Any, Callable, List, Optional, Union

import numpy as np
import torch
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = [
    'UnsafeCheckpointError', 'load_checkpoint_safely',
    'load_from_local_safely', 'register_safe_local_loader',
    'allowed_checkpoint_global'
]

CONVERT_HINT = (
    'If you trust this file, convert it once into a weights-only checkpoint '
    'with\n    python tools/misc/convert_trusted_checkpoint.py {path} '
    'OUT.pth\nand load OUT.pth instead.')

# Fully-qualified names of globals that only rebuild data. ``getattr`` is
# needed by numpy >= 2 to pickle dtype classes; the weights-only unpickler
# still refuses to *call* anything that is not itself allowed, so fetching an
# attribute cannot run code.
_EXACT_ALLOWED = {
    'builtins.getattr',
    'builtins.set',
    'builtins.frozenset',
    'builtins.slice',
    'builtins.range',
    'builtins.complex',
    'collections.OrderedDict',
    'collections.defaultdict',
    'collections.deque',
    'numpy.ndarray',
    'numpy.dtype',
    'numpy.core.multiarray._reconstruct',
    'numpy.core.multiarray.scalar',
    'numpy._core.multiarray._reconstruct',
    'numpy._core.multiarray.scalar',
    'mmengine.logging.history_buffer.HistoryBuffer',
    'mmengine.config.config.ConfigDict',
}
# numpy dtype classes (numpy.dtypes.Float64DType, ...) and numpy scalar types
_PATTERN_ALLOWED = re.compile(r'^numpy\.dtypes\.[A-Za-z0-9]+DType$')


def allowed_checkpoint_global(name: str) -> bool:
    """Whether the global ``name`` (``module.qualname``) is data-only.

    Args:
        name (str): A fully-qualified global, as listed by
            :func:`torch.serialization.get_unsafe_globals_in_checkpoint`.

    Returns:
        bool: True if loading it cannot run code.
    """
    return name in _EXACT_ALLOWED or bool(_PATTERN_ALLOWED.match(name))


class UnsafeCheckpointError(pickle.UnpicklingError):
    """Raised for a checkpoint whose pickle needs a non-data global."""


def _resolve(name: str) -> Any:
    module, _, qual = name.rpartition('.')
    mod = __import__(module, fromlist=[qual])
    return getattr(mod, qual)


def _numpy_dtype_classes() -> List[type]:
    """numpy >= 1.25 dtype classes (``numpy.dtypes.Float64DType``, ...).

    numpy 2 pickles a dtype through ``getattr`` on these classes, so they do
    not show in the checkpoint's list of globals but must be allowed.
    """
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is None:  # pragma: no cover - numpy < 1.25
        return []
    return [
        getattr(dtypes, n) for n in dir(dtypes)
        if _PATTERN_ALLOWED.match(f'numpy.dtypes.{n}')
        and isinstance(getattr(dtypes, n), type)
    ]


def _unsafe_globals(f: Union[str, Any]) -> List[str]:
    get = getattr(torch.serialization, 'get_unsafe_globals_in_checkpoint',
                  None)
    if get is None:  # pragma: no cover - torch < 2.5
        return []
    try:
        return list(get(f))
    except Exception:  # not a zip checkpoint (legacy format)
        return []


def load_checkpoint_safely(filename: str,
                           map_location: Optional[Union[str, Callable,
                                                        torch.device]] = None
                           ) -> Any:
    """Load a local checkpoint with ``weights_only=True``.

    Args:
        filename (str): Path of the checkpoint.
        map_location (str | callable | torch.device, optional): As for
            :func:`torch.load`. Defaults to None.

    Returns:
        Any: The loaded object (usually a dict).

    Raises:
        FileNotFoundError: If ``filename`` does not exist.
        UnsafeCheckpointError: If the pickle needs a global that could run
            code; the message names the file and the globals.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file "{filename}" does not exist')
    needed = _unsafe_globals(filename)
    refused = sorted(n for n in needed if not allowed_checkpoint_global(n))
    if refused:
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint "{filename}": its pickle needs '
            f'{refused}, which could execute code when loaded. ' +
            CONVERT_HINT.format(path=filename))
    safe = []
    for name in needed:
        try:
            safe.append(_resolve(name))
        except (ImportError, AttributeError):
            raise UnsafeCheckpointError(
                f'Refusing to load checkpoint "{filename}": it needs the '
                f'global {name!r}, which cannot be imported here. ' +
                CONVERT_HINT.format(path=filename))
    if needed:
        safe.extend(_numpy_dtype_classes())
    try:
        with torch.serialization.safe_globals(safe):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint "{filename}" with weights_only=True:'
            f' {e}\n' + CONVERT_HINT.format(path=filename)) from e


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

