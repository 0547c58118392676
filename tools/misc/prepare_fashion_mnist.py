# Copyright (c) ltplug contributors. All rights reserved.
"""Put Fashion-MNIST where MMPretrain's ``FashionMNIST`` reads it offline.

MMPretrain's ``FashionMNIST(data_root=..., download=False)`` reads the four
*un-gzipped* IDX files (``train-images-idx3-ubyte`` ...) directly in
``data_root``. This script gunzips them there from a folder holding the
``.gz`` files, by default the one Debian's ``dataset-fashion-mnist``
package installs::

    apt-get update && apt-get install -y dataset-fashion-mnist
    python tools/misc/prepare_fashion_mnist.py  # -> data/fashion_mnist

Every file is checked after decompression: its IDX header (magic number and
shape), its exact size, and for the label files that every class 0-9 has
6,000 train / 1,000 test images. A truncated or wrong file is reported by
name instead of failing later inside training. (The md5s MMPretrain lists
are those of the upstream ``.gz`` files; Debian re-compresses them, so the
``.gz`` bytes differ while the content is the same, and they are not used.)
Files already prepared and valid are kept unless ``--force``.
"""
import argparse
import gzip
import os
import os.path as osp
import shutil
import struct
import sys
from typing import Dict, List, Optional, Sequence, Tuple

DEFAULT_SRC = '/usr/share/datasets/fashion-mnist'
DEFAULT_DST = 'data/fashion_mnist'

#: name -> (IDX magic, dims); magic 2051 = uint8 3-D, 2049 = uint8 1-D
FILES: Dict[str, Tuple[int, Tuple[int, ...]]] = {
    'train-images-idx3-ubyte': (2051, (60000, 28, 28)),
    'train-labels-idx1-ubyte': (2049, (60000, )),
    't10k-images-idx3-ubyte': (2051, (10000, 28, 28)),
    't10k-labels-idx1-ubyte': (2049, (10000, )),
}
NUM_CLASSES = 10

INSTALL_HINT = ('On Debian/Ubuntu: `apt-get update && apt-get install -y '
                'dataset-fashion-mnist`; elsewhere set download=True in the '
                "dataset config and MMPretrain's FashionMNIST downloads it.")


class PrepareError(RuntimeError):
    """A source or destination file is missing or not what it should be."""


def idx_header(path: str) -> Tuple[int, Tuple[int, ...]]:
    """``(magic, dims)`` of an un-gzipped IDX file."""
    with open(path, 'rb') as f:
        head = f.read(4)
        if len(head) < 4:
            raise PrepareError(f'{path}: too short for an IDX header')
        magic = struct.unpack('>i', head)[0]
        ndim = magic % 256
        raw = f.read(4 * ndim)
        if len(raw) < 4 * ndim:
            raise PrepareError(f'{path}: truncated IDX header')
        dims = struct.unpack(f'>{ndim}i', raw)
    return magic, tuple(dims)


def check_idx(path: str, magic: int, dims: Tuple[int, ...]) -> None:
    """Raise :class:`PrepareError` unless ``path`` is a complete IDX file
    with this magic number and shape."""
    got_magic, got_dims = idx_header(path)
    if (got_magic, got_dims) != (magic, dims):
        raise PrepareError(
            f'{path}: IDX header says magic {got_magic} shape {got_dims}, '
            f'expected magic {magic} shape {dims}')
    expected = 4 + 4 * len(dims)
    n = 1
    for d in dims:
        n *= d
    expected += n
    size = osp.getsize(path)
    if size != expected:
        raise PrepareError(f'{path}: {size} bytes, expected {expected} for '
                           f'shape {dims} (truncated or padded file)')
    if len(dims) == 1:  # labels: 0..9, as many of each class
        with open(path, 'rb') as f:
            f.seek(8)
            counts = [0] * 256
            for b in f.read():
                counts[b] += 1
        if any(counts[NUM_CLASSES:]) or len(set(
                counts[:NUM_CLASSES])) != 1:
            raise PrepareError(
                f'{path}: labels per class are {counts[:NUM_CLASSES]} '
                f'(+{sum(counts[NUM_CLASSES:])} out of range), expected '
                f'{dims[0] // NUM_CLASSES} of each of 0-{NUM_CLASSES - 1}')


def _log(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, flush=True)


def prepare(src: str = DEFAULT_SRC,
            dst: str = DEFAULT_DST,
            force: bool = False,
            quiet: bool = False) -> List[str]:
    """Gunzip the four Fashion-MNIST IDX files from ``src`` into ``dst``.

    Args:
        src (str): Folder with the ``*-ubyte.gz`` files. Defaults to
            ``/usr/share/datasets/fashion-mnist``.
        dst (str): Output folder (the dataset's ``data_root``). Defaults to
            ``data/fashion_mnist``.
        force (bool): Rewrite files that are already prepared. Defaults to
            False.
        quiet (bool): Print no progress. Defaults to False.

    Returns:
        list[str]: The paths of the four prepared files.

    Raises:
        PrepareError: ``src`` or one of its files is missing or does not
            decompress into the expected IDX file.
    """
    if not osp.isdir(src):
        raise PrepareError(f'source folder {src!r} does not exist. '
                           f'{INSTALL_HINT}')
    missing = [f'{n}.gz' for n in FILES if not osp.isfile(
        osp.join(src, f'{n}.gz'))]
    if missing:
        raise PrepareError(f'{src!r} lacks {missing}. {INSTALL_HINT}')
    os.makedirs(dst, exist_ok=True)
    out = []
    for i, (name, (magic, dims)) in enumerate(FILES.items(), 1):
        gz = osp.join(src, f'{name}.gz')
        target = osp.join(dst, name)
        out.append(target)
        prefix = f'[{i}/{len(FILES)}] {name}'
        if not force and osp.isfile(target):
            try:
                check_idx(target, magic, dims)
            except PrepareError as e:
                _log(f'{prefix}: existing file is bad ({e}); rewriting',
                     quiet)
            else:
                _log(f'{prefix}: already prepared, kept', quiet)
                continue
        tmp = target + '.part'
        try:
            with gzip.open(gz, 'rb') as fin, open(tmp, 'wb') as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
        except (OSError, EOFError) as e:
            if osp.exists(tmp):
                os.remove(tmp)
            raise PrepareError(f'{gz}: cannot decompress ({e})') from e
        try:
            check_idx(tmp, magic, dims)
        except PrepareError as e:
            os.remove(tmp)
            raise PrepareError(f'{gz} does not hold the expected data: '
                               f'{e}') from e
        os.replace(tmp, target)
        _log(f'{prefix}: {osp.getsize(target):,} bytes -> {target}', quiet)
    _log(f'Fashion-MNIST ready in {dst} (60,000 train + 10,000 test images)',
         quiet)
    return out


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Gunzip Fashion-MNIST into the folder MMPretrain\'s '
        'FashionMNIST reads (download=False).')
    parser.add_argument(
        '--src', default=DEFAULT_SRC,
        help=f'folder with the *-ubyte.gz files (default {DEFAULT_SRC})')
    parser.add_argument(
        '--dst', default=DEFAULT_DST,
        help=f'output folder, the data_root (default {DEFAULT_DST})')
    parser.add_argument('--force', action='store_true',
                        help='rewrite files that are already prepared')
    parser.add_argument('--quiet', action='store_true')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit status (1 with a message on error)."""
    args = parse_args(argv)
    try:
        prepare(args.src, args.dst, args.force, args.quiet)
    except PrepareError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
