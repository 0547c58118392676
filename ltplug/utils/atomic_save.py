# Copyright (c) ltplug contributors. All rights reserved.
"""Atomic checkpoints, ``last_checkpoint`` pointer and dumped files.

MMEngine writes checkpoints with ``LocalBackend.put`` (``open(path, 'wb')``
and one ``write``), the ``last_checkpoint`` pointer with a plain
``open(path, 'w')``, and ``mmengine.dump`` (the metrics of
``tools/test.py --out``, ``DumpResults``) again with ``put`` /
``put_text``. A kill or a full disk during one of these writes leaves a
truncated file where a good one was, and with ``max_keep_ckpts`` the
previous checkpoint is deleted *before* the new one is written.

:func:`patch_mmengine_atomic_save` (installed by ``import ltplug``):

- ``LocalBackend.put`` / ``put_text`` write through
  :func:`ltplug.utils.atomic.atomic_open` (temporary file in the same
  folder, ``fsync``, :func:`os.replace`): a reader sees the old file or the
  complete new one;
- ``CheckpointHook`` writes ``last_checkpoint`` the same way, after the
  checkpoint it names is complete;
- ``CheckpointHook`` deletes outdated checkpoints (``max_keep_ckpts``, the
  previous best) only after the new checkpoint and the pointer are written,
  so a failed save never leaves ``--resume`` without a complete checkpoint;
- ``CheckpointHook.before_train`` removes the temporary files a killed save
  left in the checkpoint folder (``.epoch_3.pth.<random>.tmp``).
"""
import builtins
import contextlib
import functools
import os
import os.path as osp
import re
from typing import Any, Iterator, List, Union

from .atomic import atomic_open

__all__ = [
    'patch_mmengine_atomic_save', 'remove_stale_temp_files',
    'upstream_put_truncates'
]


def _atomic_put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
    """Write bytes to ``filepath`` atomically (creating its folder)."""
    filepath = str(filepath)
    os.makedirs(osp.dirname(osp.abspath(filepath)), exist_ok=True)
    with atomic_open(filepath, 'wb') as f:
        f.write(obj)


def _atomic_put_text(self,
                     obj: str,
                     filepath: Union[str, os.PathLike],
                     encoding: str = 'utf-8') -> None:
    """Write text to ``filepath`` atomically (creating its folder)."""
    filepath = str(filepath)
    os.makedirs(osp.dirname(osp.abspath(filepath)), exist_ok=True)
    with atomic_open(filepath, 'w', encoding=encoding) as f:
        f.write(obj)


def _hook_open(file, mode: str = 'r', *args, **kwargs):
    """``open`` for ``mmengine.hooks.checkpoint_hook``: writes (the
    ``last_checkpoint`` pointer) are atomic, anything else is
    :func:`open`."""
    if mode in ('w', 'wb') and not args:
        return atomic_open(os.fspath(file), mode, **kwargs)
    return builtins.open(file, mode, *args, **kwargs)


class _DeferredRemovals:
    """A file backend that records ``remove`` / ``rmtree`` calls instead of
    running them; everything else is the wrapped backend's."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.pending: List[tuple] = []

    def remove(self, path) -> None:
        self.pending.append(('remove', path))

    def rmtree(self, path) -> None:
        self.pending.append(('rmtree', path))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


@contextlib.contextmanager
def _defer_removals(hook) -> Iterator[None]:
    """Run the block with ``hook.file_backend`` deferring removals; run
    them after the block succeeded, except for the files the hook now
    points at (the last and the best checkpoints)."""
    backend = getattr(hook, 'file_backend', None)
    if backend is None or isinstance(backend, _DeferredRemovals):
        yield  # not set up yet, or an outer call already defers
        return
    proxy = _DeferredRemovals(backend)
    hook.file_backend = proxy
    try:
        yield
    finally:
        hook.file_backend = backend
    keep = {getattr(hook, 'last_ckpt', None),
            getattr(hook, 'best_ckpt_path', None)}
    keep.update((getattr(hook, 'best_ckpt_path_dict', None) or {}).values())
    for op, path in proxy.pending:
        if path in keep:
            continue
        if op == 'remove' and backend.isfile(path):
            backend.remove(path)
        elif op == 'rmtree' and backend.isdir(path):
            backend.rmtree(path)


# atomic_open's temporary files: ``.<name>.<8 random chars>.tmp``
_TEMP_FILE = re.compile(r'^\..+\.[A-Za-z0-9_]{8}\.tmp$')


def remove_stale_temp_files(folder: str) -> List[str]:
    """Remove the temporary files that interrupted atomic writes left in
    ``folder`` (not recursive).

    Args:
        folder (str): A local folder; a missing one is skipped.

    Returns:
        list[str]: The removed paths.
    """
    if not osp.isdir(folder):
        return []
    removed = []
    for name in os.listdir(folder):
        path = osp.join(folder, name)
        if _TEMP_FILE.match(name) and osp.isfile(path):
            with contextlib.suppress(OSError):
                os.remove(path)
                removed.append(path)
    return removed


def _cleaning_before_train(method):

    @functools.wraps(method)
    def before_train(self, runner) -> None:
        method(self, runner)
        from mmengine.dist import is_main_process
        out_dir = self.out_dir
        if is_main_process() and isinstance(out_dir, str) and \
                '://' not in out_dir:
            removed = remove_stale_temp_files(out_dir)
            if removed:
                runner.logger.info(
                    f'Removed {len(removed)} temporary file(s) of '
                    f'interrupted saves: {removed}')

    before_train._ltplug_atomic = True
    return before_train


def _deferring(method):

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with _defer_removals(self):
            return method(self, *args, **kwargs)

    wrapper._ltplug_atomic = True
    return wrapper


def upstream_put_truncates() -> bool:
    """Whether MMEngine's own ``LocalBackend.put`` loses a file's old
    content when the write fails (the stand-down probe of
    :mod:`ltplug.utils.compat`): it writes a payload that cannot be
    written over a small file in a temporary folder.

    Returns:
        bool: True while MMEngine writes in place (0.10.x).
    """
    import tempfile

    from mmengine.fileio.backends.local_backend import LocalBackend
    if getattr(LocalBackend.put, '_ltplug_atomic', False):
        return True  # already patched: the original was judged before
    try:
        with tempfile.TemporaryDirectory(prefix='ltplug-probe-') as folder:
            path = osp.join(folder, 'probe.bin')
            with open(path, 'wb') as f:
                f.write(b'old')
            with contextlib.suppress(TypeError):
                LocalBackend().put(object(), path)  # f.write(object()) fails
            with open(path, 'rb') as f:
                return f.read() != b'old'
    except OSError:  # no writable temp folder: keep the fix
        return True


def patch_mmengine_atomic_save() -> None:
    """Make MMEngine's local file writes and ``CheckpointHook`` atomic
    (idempotent)."""
    import mmengine.hooks.checkpoint_hook as checkpoint_hook
    from mmengine.fileio.backends.local_backend import LocalBackend
    from mmengine.hooks import CheckpointHook

    if not getattr(LocalBackend.put, '_ltplug_atomic', False):
        _atomic_put._ltplug_atomic = True
        _atomic_put_text._ltplug_atomic = True
        _atomic_put.__doc__ = LocalBackend.put.__doc__
        _atomic_put_text.__doc__ = LocalBackend.put_text.__doc__
        LocalBackend.put = _atomic_put
        LocalBackend.put_text = _atomic_put_text
    # the module's only ``open`` is the last_checkpoint write
    checkpoint_hook.open = _hook_open
    for name in ('_save_checkpoint_with_step', '_save_best_checkpoint'):
        method = getattr(CheckpointHook, name)
        if not getattr(method, '_ltplug_atomic', False):
            setattr(CheckpointHook, name, _deferring(method))
    if not getattr(CheckpointHook.before_train, '_ltplug_atomic', False):
        CheckpointHook.before_train = _cleaning_before_train(
            CheckpointHook.before_train)
