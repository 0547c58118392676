# Copyright (c) ltplug contributors. All rights reserved.
"""Strict parser of ``relative/path label`` annotation lists.

The ImageNet-LT, Places-LT and iNaturalist-2018 lists of OLTR /
classifier-balancing hold one image per line::

    train/n01440764/n01440764_762.JPEG 0

Format accepted by :func:`parse_list_lines` (line numbers are 1-based and
count ``\\n``-separated lines, as editors and ``nl`` do):

* the file is UTF-8; a UTF-8 byte-order mark at its start (written by some
  Windows editors and by Excel's "CSV UTF-8") is removed. A UTF-16 file
  (Notepad's "Unicode") is refused with one error saying so;
* a line is split from the next at ``\\n``; one trailing ``\\r`` (CRLF files)
  is removed;
* a line made only of spaces and tabs (or empty) holds no image and is
  ignored;
* any other line, once stripped of leading / trailing spaces and tabs, is
  ``<path><spaces or tabs><label>``: the label is the last field, the path
  everything before it (so a path may contain inner spaces, as with
  MMPretrain's ``CustomDataset``);
* the label is a base-10 ASCII integer (``-?[0-9]+``) in ``[0, num_classes)``;
* the path contains no control character (``\\x00``-``\\x1f`` but tab,
  ``\\x7f``).

Every other line raises :class:`ValueError` naming ``file:line`` and the bad
text; nothing is skipped silently.
"""
import re
from typing import Iterable, List, Optional, Tuple, Union

import numpy as np
from mmengine.fileio import get

from ltplug.utils.validate import check_number

__all__ = ['parse_list_lines', 'parse_list_file']

_SEP = ' \t'
# A valid image line in one match (the common case): optional blanks, a
# path of non-control characters (tab allowed) ending in a non-blank, a
# blank run, the integer label, optional blanks, an optional CR.
_VALID = re.compile(
    r'[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*[^\x00-\x20\x7f])[ \t]+'
    r'(-?[0-9]+)[ \t]*\r?', re.ASCII)
_LABEL = re.compile(r'-?[0-9]+', re.ASCII)
_CONTROL = re.compile(r'[\x00-\x08\x0a-\x1f\x7f]')
_SHOW = 80  # characters of a bad line quoted in an error
_BOM = '\ufeff'
_UTF16_BOMS = (b'\xff\xfe', b'\xfe\xff')


def _quote(text: str) -> str:
    """``repr`` of ``text``, shortened for error messages."""
    if len(text) > _SHOW:
        text = text[:_SHOW] + '...'
    return repr(text)


def _check_num_classes(num_classes: Optional[int]) -> None:
    check_number('num_classes', num_classes, integer=True, min=1,
                 allow_none=True)


def parse_list_lines(lines: Iterable[Union[str, bytes]],
                     num_classes: Optional[int] = None,
                     source: str = '<list>') -> Tuple[List[str], np.ndarray,
                                                      List[int]]:
    """Parse the lines of a ``path label`` list (format in the module doc).

    Args:
        lines (Iterable[str | bytes]): The lines, without their ``\\n``
            (bytes are decoded as UTF-8; a byte-order mark starting the
            first line is removed).
        num_classes (int, optional): Labels must lie in
            ``[0, num_classes)``. Defaults to None (any label >= 0).
        source (str): Name of the list in error messages. Defaults to
            '<list>'.

    Returns:
        tuple[list[str], np.ndarray, list[int]]: Image paths, int64 labels,
        and the 1-based line number of every image.

    Raises:
        ValueError: On an undecodable, malformed or out-of-range line (the
            message names ``source:line`` and quotes the line).
    """
    _check_num_classes(num_classes)
    paths: List[str] = []
    labels: List[int] = []
    line_nos: List[int] = []
    for line_no, raw in enumerate(lines, 1):
        where = f'{source}:{line_no}'
        if isinstance(raw, bytes):
            try:
                line = raw.decode('utf-8-sig' if line_no == 1 else 'utf-8')
            except UnicodeDecodeError as e:
                raise ValueError(f'{where}: line is not valid UTF-8 ({e}): '
                                 f'{_quote(str(raw))}') from None
        else:
            line = raw
        if line_no == 1 and line.startswith(_BOM):
            line = line[1:]  # UTF-8 byte-order mark
        m = _VALID.fullmatch(line)
        if m is not None:
            label = int(m.group(2))
            if label >= 0 and (num_classes is None or label < num_classes):
                paths.append(m.group(1))
                labels.append(label)
                line_nos.append(line_no)
                continue
        # blank, malformed or out of range: the detailed checks below
        if line.endswith('\r'):
            line = line[:-1]
        text = line.strip(_SEP)
        if not text:
            continue
        cut = max(text.rfind(' '), text.rfind('\t'))
        if cut < 0:
            raise ValueError(f"{where}: expected '<path> <label>', but got "
                             f'{_quote(line)}')
        path = text[:cut].rstrip(_SEP)
        label_text = text[cut + 1:]
        bad = _CONTROL.search(text)
        if bad is not None:
            raise ValueError(f'{where}: control character '
                             f'{bad.group()!r} in line {_quote(line)}')
        if not _LABEL.fullmatch(label_text):
            raise ValueError(f'{where}: label {_quote(label_text)} is not an '
                             f'integer (line {_quote(line)})')
        label = int(label_text)
        if label < 0 or (num_classes is not None and label >= num_classes):
            bound = '' if num_classes is None else \
                f' for num_classes={num_classes}'
            raise ValueError(f'{where}: label {label} is out of range{bound} '
                             f'(line {_quote(line)})')
        paths.append(path)
        labels.append(label)
        line_nos.append(line_no)
    return paths, np.asarray(labels, dtype=np.int64), line_nos


def parse_list_file(path: str,
                    num_classes: Optional[int] = None,
                    backend_args: Optional[dict] = None
                    ) -> Tuple[List[str], np.ndarray, List[int]]:
    """Read and parse a ``path label`` list file.

    Args:
        path (str): The list file (any mmengine file backend).
        num_classes (int, optional): Labels must lie in
            ``[0, num_classes)``. Defaults to None.
        backend_args (dict, optional): mmengine file backend arguments.
            Defaults to None.

    Returns:
        tuple[list[str], np.ndarray, list[int]]: See
        :func:`parse_list_lines`.

    Raises:
        FileNotFoundError: If the list does not exist.
        ValueError: On a UTF-16 file, or a bad line (``path:line`` in the
            message).
    """
    data = get(path, backend_args=backend_args)
    if data.startswith(_UTF16_BOMS):
        raise ValueError(
            f'{path} is UTF-16 encoded (it starts with a UTF-16 byte-order '
            'mark); save the list as UTF-8')
    try:
        lines = data.decode('utf-8').split('\n')
    except UnicodeDecodeError:
        lines = data.split(b'\n')  # per-line decoding names the bad line
    return parse_list_lines(lines, num_classes, source=str(path))
