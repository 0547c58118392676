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
import pickletools
import re
import zipfile
from typing import Any, Callable, List, Optional, Union

import numpy as np
import torch
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = [
    'UnsafeCheckpointError', 'CheckpointReadError', 'load_checkpoint_safely',
    'checkpoint_format',
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


class CheckpointReadError(ValueError):
    """Raised for a file that cannot be read as a checkpoint.

    Args:
        message (str): The message (it names the file).
        filename (str): The file.
        kind (str): What the file is: ``'empty'``, ``'truncated'``,
            ``'corrupt'``, ``'text'`` or ``'not_checkpoint'``.
    """

    def __init__(self, message: str, filename: str, kind: str) -> None:
        super().__init__(message)
        self.filename = filename
        self.kind = kind


# torch.save's legacy (non-zip) format starts with the pickled magic number
# 0x1950a86a20f9469cfc6c (protocol 2, LONG1 of 10 bytes)
_LEGACY_MAGIC = b'\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19.'
_ZIP_MAGIC = b'PK\x03\x04'


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError as e:
        # a multi-byte character cut at the end of ``head`` is still text
        if e.start < len(head) - 3:
            return False
        text = head[:e.start].decode('utf-8')
    if not text:
        return False
    printable = sum(c.isprintable() or c in '\n\r\t' for c in text)
    return printable / len(text) > 0.95


def checkpoint_format(filename: str) -> str:
    """What kind of file ``filename`` is, judged from its first bytes.

    Args:
        filename (str): An existing local file.

    Returns:
        str: ``'empty'``, ``'zip'`` (torch's default format, or any zip),
        ``'legacy'`` (torch's old pickle format), ``'pickle'`` (a pickle
        without torch's header), ``'text'`` or ``'unknown'``.
    """
    with open(filename, 'rb') as f:
        head = f.read(4096)
    if not head:
        return 'empty'
    if head.startswith(_ZIP_MAGIC):
        return 'zip'
    if head.startswith(_LEGACY_MAGIC):
        return 'legacy'
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return 'pickle'
    if _looks_like_text(head):
        return 'text'
    return 'unknown'


def _pickle_globals(filename: str) -> List[str]:
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


def _prefix(owner: Optional[str]) -> str:
    return f'{owner}: ' if owner else ''


def _check_readable(filename: str, owner: Optional[str]) -> str:
    """Refuse files that are not checkpoints before torch reads them;
    returns the format."""
    fmt = checkpoint_format(filename)
    size = osp.getsize(filename)
    where = f'{_prefix(owner)}checkpoint "{filename}"'
    if fmt == 'empty':
        raise CheckpointReadError(
            f'{where} is empty (0 bytes), not a checkpoint: the save or '
            'copy that wrote it was interrupted; use an earlier checkpoint '
            'or write it again', filename, 'empty')
    if fmt == 'zip':
        if not zipfile.is_zipfile(filename):
            raise CheckpointReadError(
                f'{where} is truncated: a zip (torch) checkpoint of {size} '
                'bytes whose end is missing (an interrupted save or copy?); '
                'use an earlier checkpoint or copy it again', filename,
                'truncated')
        try:
            with zipfile.ZipFile(filename) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError) as e:
            raise CheckpointReadError(
                f'{where} is corrupt: its zip archive cannot be read ({e})',
                filename, 'corrupt') from None
        if not any(n == 'data.pkl' or n.endswith('/data.pkl')
                   for n in names):
            raise CheckpointReadError(
                f'{where} is not a torch checkpoint: a zip archive without '
                f'data.pkl (it holds e.g. {names[:3]})', filename,
                'not_checkpoint')
    elif fmt == 'text':
        with open(filename, 'rb') as f:
            start = f.read(60).decode('utf-8', 'replace').splitlines()
        start = start[0] if start else ''
        hint = ('; did you pass a config as the checkpoint?'
                if filename.endswith('.py') or 'dict(' in start
                or '_base_' in start else '')
        raise CheckpointReadError(
            f'{where} is a text file, not a checkpoint (it starts with '
            f'{start!r}){hint}', filename, 'text')
    elif fmt == 'unknown':
        with open(filename, 'rb') as f:
            start = f.read(8).hex(' ')
        raise CheckpointReadError(
            f'{where} is not a torch checkpoint: unknown format (it starts '
            f'with the bytes {start}; torch.save writes a zip archive)',
            filename, 'not_checkpoint')
    return fmt


_TRUNCATED_HINTS = ('unexpected EOF', 'truncated', 'Ran out of input',
                    'failed finding central directory',
                    'failed reading zip archive')
_CODE_HINTS = ('Unsupported global', 'Unsupported class', 'GLOBAL ',
               'REDUCE', 'BUILD', 'not an allowed global')


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
    where = f'{_prefix(owner)}checkpoint "{filename}"'
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{where} does not exist')
    fmt = _check_readable(filename, owner)
    if fmt == 'pickle':
        refused = sorted({
            n for n in _pickle_globals(filename)
            if not allowed_checkpoint_global(n)
        })
        if refused:
            raise UnsafeCheckpointError(
                f'Refusing to load {where}: a pickle (not written by '
                f'torch.save) that needs {refused}, which could execute code '
                'when loaded')
    needed = _unsafe_globals(filename) if fmt == 'zip' else []
    refused = sorted(n for n in needed if not allowed_checkpoint_global(n))
    if refused:
        raise UnsafeCheckpointError(
            f'Refusing to load {where}: its pickle needs '
            f'{refused}, which could execute code when loaded. ' +
            CONVERT_HINT.format(path=filename))
    safe = []
    for name in needed:
        try:
            safe.append(_resolve(name))
        except (ImportError, AttributeError):
            raise UnsafeCheckpointError(
                f'Refusing to load {where}: it needs the '
                f'global {name!r}, which cannot be imported here. ' +
                CONVERT_HINT.format(path=filename))
    if needed:
        safe.extend(_numpy_dtype_classes())
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
        if isinstance(e, EOFError) or any(h in text
                                           for h in _TRUNCATED_HINTS) or \
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

