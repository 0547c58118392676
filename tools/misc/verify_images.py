# Copyright (c) ltplug contributors. All rights reserved.
"""Decode every image of a ``path label`` list before a long run.

A truncated or corrupt JPEG among hundreds of thousands stops a training
run when the loader reaches it (possibly days in), or, read by OpenCV, is
silently filled with gray. This tool opens and fully decodes every listed
image once, in parallel, with a progress bar, and reports each bad one
with its list line::

    python tools/misc/verify_images.py data/inat2018/iNaturalist18_train.txt \\
        data/inat2018 --workers 8 [--out bad_lines.txt]

An image is bad when it is missing, empty, truncated / corrupt for
Pillow's strict decoder (some OpenCV builds decode a truncated JPEG with a
warning and gray fill), or not decodable by OpenCV (what
``LoadImageFromFile`` uses). The exit status is 1
when any image is bad, 0 otherwise; ``--out`` writes the bad list lines
(e.g. to remove them). It is the one-time alternative to
``LoadImageFromFileChecked``'s double decoding at every epoch.
"""
import argparse
import multiprocessing
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

__all__ = ['check_image', 'verify_items', 'verify_list', 'main']


def check_image(path: str) -> Optional[str]:
    """Why ``path`` is not a good image, or None when it decodes fully.

    Args:
        path (str): The image file.

    Returns:
        str | None: ``'missing'``, ``'empty file'``, ``'corrupt (<Pillow's
        error>)'`` (e.g. ``image file is truncated``) or ``'not decodable by
        OpenCV'``; None for a good image.
    """
    import io

    import cv2
    import numpy as np
    from PIL import Image, ImageFile
    if not osp.isfile(path):
        return 'missing'
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        return f'unreadable: {e}'
    if not data:
        return 'empty file'
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError
        return f'corrupt ({type(e).__name__}: {e})'
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return 'not decodable by OpenCV'
    return None


def _check(item: Tuple[int, str, str]) -> Tuple[int, str, Optional[str]]:
    line_no, rel, path = item
    return line_no, rel, check_image(path)


def verify_items(items: Sequence[Tuple[int, str, str]],
                 workers: int = 4,
                 progress: bool = True) -> List[Tuple[int, str, str]]:
    """Decode the images of ``items`` in parallel (see :func:`check_image`).

    The shared core of :func:`verify_list` and
    ``tools/misc/check_dataset.py`` (which takes its items from a built
    dataset).

    Args:
        items (Sequence[tuple[int, str, str]]): ``(line number, path as
            shown, path to open)`` of every image.
        workers (int): Processes decoding in parallel (>= 1). Defaults to
            4.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        list[tuple[int, str, str]]: ``(line number, path as shown, reason)``
        of every bad image, in the order of ``items``.
    """
    from mmengine.utils import ProgressBar
    if isinstance(workers, bool) or not isinstance(workers, int) or \
            workers < 1:
        raise ValueError(f'workers must be an int >= 1, but got {workers!r}')
    bad = []
    bar = ProgressBar(len(items)) if progress and items else None
    if workers == 1 or len(items) <= 1:
        results = map(_check, items)
        pool = None
    else:
        pool = multiprocessing.get_context('fork').Pool(
            min(workers, len(items)))
        results = pool.imap(_check, items, chunksize=64)
    try:
        for line_no, rel, reason in results:
            if reason is not None:
                bad.append((line_no, rel, reason))
            if bar is not None:
                bar.update()
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    if bar is not None:
        sys.stdout.write('\n')
    return bad


def verify_list(list_file: str,
                root: str,
                workers: int = 4,
                progress: bool = True) -> List[Tuple[int, str, str]]:
    """Decode every image of ``list_file`` (paths relative to ``root``).

    Args:
        list_file (str): A ``relative/path label`` list (ltplug's format).
        root (str): The folder the paths are relative to.
        workers (int): Processes decoding in parallel (>= 1). Defaults to
            4.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        list[tuple[int, str, str]]: ``(line number, path, reason)`` of every
        bad image, in list order.
    """
    from ltplug.datasets.list_file import parse_list_file
    if isinstance(workers, bool) or not isinstance(workers, int) or \
            workers < 1:
        raise ValueError(f'workers must be an int >= 1, but got {workers!r}')
    if not osp.isdir(root):
        raise FileNotFoundError(f'image root "{root}" is not a folder')
    paths, _, line_nos = parse_list_file(list_file)
    items = [(n, p, osp.join(root, p)) for n, p in zip(line_nos, paths)]
    return verify_items(items, workers, progress)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit status (1 when an image is bad)."""
    parser = argparse.ArgumentParser(
        description='Decode every image of a list; report the bad lines')
    parser.add_argument('list', help='the "relative/path label" list')
    parser.add_argument('root', help='the folder the paths are relative to')
    parser.add_argument(
        '--workers',
        type=int,
        default=min(8, os.cpu_count() or 1),
        help='decoding processes (default: min(8, CPUs))')
    parser.add_argument('--out', help='write the bad list lines here')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    args = parser.parse_args(argv)
    try:
        bad = verify_list(args.list, args.root, args.workers,
                          not args.no_progress)
    except (ValueError, FileNotFoundError) as e:
        parser.exit(2, f'error: {e}\n')
    for line_no, rel, reason in bad:
        print(f'{args.list}:{line_no}: {rel}: {reason}')
    if args.out:
        with open(args.list, encoding='utf-8') as f:
            lines = f.read().splitlines()
        with open(args.out, 'w', encoding='utf-8') as f:
            f.writelines(lines[n - 1] + '\n' for n, _, _ in bad)
    with open(args.list, encoding='utf-8') as f:
        total = sum(1 for line in f if line.strip())
    print(f'{len(bad)} bad image(s) out of {total} in {args.list}')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
