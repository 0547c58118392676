# Copyright (c) ltplug contributors. All rights reserved.
"""The globals a checkpoint's pickle may import: data-only types.

:func:`allowed_checkpoint_global` allows the types MMEngine checkpoints
contain (numpy arrays, numpy dtypes and scalars, ``HistoryBuffer`` and a few
containers); anything else (e.g. ``os.system``) makes
:func:`ltplug.utils.checkpoint.load_checkpoint_safely` raise
:class:`UnsafeCheckpointError`. The helpers list a file's globals without
unpickling it.
"""
import pickle
import pickletools
import re
from typing import Any, List, Union

import numpy as np
import torch

__all__ = [
    'CONVERT_HINT', 'UnsafeCheckpointError', 'allowed_checkpoint_global',
    'pickle_globals', 'resolve_global', 'numpy_dtype_classes',
    'unsafe_globals'
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


# its public home: tracebacks print it under ltplug.utils.checkpoint
UnsafeCheckpointError.__module__ = 'ltplug.utils.checkpoint'


def pickle_globals(filename: str) -> List[str]:
    """Globals (``module.name``) that the first pickle in ``filename``
    imports, found without unpickling it."""
    found, strings = [], []
    try:
        with open(filename, 'rb') as f:
            for op, arg, _ in pickletools.genops(f):
                if op.name in ('GLOBAL', 'INST'):
                    found.append(str(arg).replace(' ', '.'))
                elif op.name == 'STACK_GLOBAL' and len(strings) >= 2:
                    found.append(f'{strings[-2]}.{strings[-1]}')
                elif isinstance(arg, str):
                    strings.append(arg)
    except Exception:  # truncated or not a pickle: what was seen counts
        pass
    return found


def resolve_global(name: str) -> Any:
    """The object a global ``module.qualname`` names (imported)."""
    module, _, qual = name.rpartition('.')
    mod = __import__(module, fromlist=[qual])
    return getattr(mod, qual)


def numpy_dtype_classes() -> List[type]:
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


def unsafe_globals(f: Union[str, Any]) -> List[str]:
    """The globals torch would refuse in zip checkpoint ``f`` (none for
    another format, or on torch < 2.5)."""
    get = getattr(torch.serialization, 'get_unsafe_globals_in_checkpoint',
                  None)
    if get is None:  # pragma: no cover - torch < 2.5
        return []
    try:
        return list(get(f))
    except Exception:  # not a zip checkpoint (legacy format)
        return []
