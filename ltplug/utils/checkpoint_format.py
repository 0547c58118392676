# Copyright (c) ltplug contributors. All rights reserved.
"""What a checkpoint file is, judged from its bytes, before torch reads it.

:func:`checkpoint_format` names the kind of a file (zip, legacy, pickle,
text, empty, unknown); :func:`check_readable` refuses one that cannot be a
checkpoint with a :class:`CheckpointReadError` that names the file and says
what it is: empty, truncated (an interrupted save or copy), a text file
(e.g. a config passed as the checkpoint), or not a torch checkpoint. Used by
:func:`ltplug.utils.checkpoint.load_checkpoint_safely`.
"""
import os.path as osp
import zipfile
from typing import Optional

__all__ = [
    'CheckpointReadError', 'checkpoint_format', 'check_readable',
    'owner_prefix'
]


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


# its public home: tracebacks print ltplug.utils.checkpoint.CheckpointReadError
CheckpointReadError.__module__ = 'ltplug.utils.checkpoint'


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


def owner_prefix(owner: Optional[str]) -> str:
    """``'OWNER: '`` (or ``''``): how messages start."""
    return f'{owner}: ' if owner else ''


def check_readable(filename: str, owner: Optional[str]) -> str:
    """Refuse a file that is not a checkpoint before torch reads it.

    Args:
        filename (str): An existing local file.
        owner (str, optional): Who loads it; messages start with it.

    Returns:
        str: Its format (see :func:`checkpoint_format`).

    Raises:
        CheckpointReadError: If the file is empty, truncated, corrupt, a
            text file or of an unknown format.
    """
    fmt = checkpoint_format(filename)
    size = osp.getsize(filename)
    where = f'{owner_prefix(owner)}checkpoint "{filename}"'
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
