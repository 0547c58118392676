# Copyright (c) ltplug contributors. All rights reserved.
"""Cost of ``LoadImageFromFileChecked`` against MMCV's ``LoadImageFromFile``.

Writes ``--images`` JPEGs of ``--size`` (default 500x375, the typical
ImageNet-LT / Places-LT size; smooth random content at quality 90) into a
temporary folder, then loads every file with both transforms in
interleaved rounds in one process, so that load changes on a shared machine
hit both alike. The ratio is taken from that one run: ``checked / stock``
of the median per-round time. Both must return identical arrays.

Example::

    python benchmarks/load_image.py --images 200 --rounds 7
    python benchmarks/load_image.py --tiny          # a second, for CI

Prints one JSON object.
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import List

import numpy as np
from mmpretrain.registry import TRANSFORMS
from PIL import Image

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import ltplug  # noqa: E402,F401  (registers the components)


def make_jpegs(folder: str, n: int, width: int, height: int) -> List[str]:
    """Write ``n`` smooth random JPEGs into ``folder``; return their paths."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        small = rng.integers(0, 255, (height // 8 + 1, width // 8 + 1, 3))
        img = Image.fromarray(small.astype(np.uint8)).resize(
            (width, height), Image.BILINEAR)
        path = osp.join(folder, f'{i:05d}.jpg')
        img.save(path, quality=90)
        paths.append(path)
    return paths


def run(images: int = 200, rounds: int = 7, width: int = 500,
        height: int = 375, backend: str = 'cv2') -> dict:
    """Time both loaders; see the module doc.

    Args:
        images (int): JPEGs per round. Defaults to 200.
        rounds (int): Interleaved rounds. Defaults to 7.
        width (int): Image width. Defaults to 500.
        height (int): Image height. Defaults to 375.
        backend (str): ``imdecode_backend`` of both. Defaults to 'cv2'.

    Returns:
        dict: Per-image median times (ms) and ``ratio_checked_to_stock``.
    """
    for name, value in (('images', images), ('rounds', rounds),
                        ('width', width), ('height', height)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f'{name} must be a positive int, got {value!r}')
    loaders = {
        'stock': TRANSFORMS.build(
            dict(type='LoadImageFromFile', imdecode_backend=backend)),
        'checked': TRANSFORMS.build(
            dict(type='LoadImageFromFileChecked', imdecode_backend=backend)),
    }
    times = {k: [] for k in loaders}
    with tempfile.TemporaryDirectory() as folder:
        paths = make_jpegs(folder, images, width, height)
        for path in paths[:3]:
            a = loaders['stock'](dict(img_path=path))['img']
            b = loaders['checked'](dict(img_path=path))['img']
            if not np.array_equal(a, b):
                raise AssertionError(f'loaders disagree on {path}')
        for r in range(rounds):
            order = list(loaders) if r % 2 == 0 else list(loaders)[::-1]
            for name in order:
                t0 = time.perf_counter()
                for path in paths:
                    loaders[name](dict(img_path=path))
                times[name].append((time.perf_counter() - t0) / images)
            print(f'round {r + 1}/{rounds}: ' + ', '.join(
                f'{k} {times[k][-1] * 1e3:.3f} ms/image' for k in loaders),
                  file=sys.stderr, flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    return dict(
        images=images, rounds=rounds, size=[width, height], backend=backend,
        ms_per_image={k: round(v * 1e3, 4) for k, v in med.items()},
        ratio_checked_to_stock=round(med['checked'] / med['stock'], 4))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=200)
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--width', type=int, default=500)
    parser.add_argument('--height', type=int, default=375)
    parser.add_argument('--backend', choices=['cv2', 'pillow'], default='cv2')
    parser.add_argument('--tiny', action='store_true',
                        help='8 small images, 2 rounds (for tests)')
    args = parser.parse_args(argv)
    if args.tiny:
        args.images, args.rounds, args.width, args.height = 8, 2, 64, 48
    result = run(args.images, args.rounds, args.width, args.height,
                 args.backend)
    print(json.dumps(result, indent=1))
    return result


if __name__ == '__main__':
    main()
