# Copyright (c) ltplug contributors. All rights reserved.
"""Samples/s per core of each method's CIFAR train data path: the shipped
per-sample pipeline against the batched one (``BatchAugDataPreprocessor``).

For each method (CE, SSD stage I, CBD's augmented teacher, NCL + MoCo on
CIFAR-10-LT) both paths run on the same uint8 images with one torch
thread, from a uint8 image to the normalised model input:

- *per-sample*: the shipped config's train pipeline (``Compose`` of its
  transforms, as the dataset applies it per image), its ``collate_fn``
  and its data preprocessor;
- *batched*: the ``configs/batchaug`` variant's pipeline (``PackInputs``
  only), the same collate, and its ``BatchAugDataPreprocessor`` on the
  CPU (training mode: every random op on the whole batch).

The two paths of all methods are timed in interleaved rounds in one
process (``--repeat``), so that load changes on a shared machine hit them
alike; the ratio is the median of the per-round ratios. Target (issue 19):
batched NCL + MoCo >= 10x the per-sample path per core. The *workers*
column times the batched path without its data preprocessor (``PackInputs``
and collate: the dataloader workers' share when the preprocessor runs on a
GPU), its ratio is against the whole per-sample path.

With ``--imagenet`` it also times the per-sample train pipelines of the
shipped ImageNet-LT / Places-LT / iNaturalist configs on JPEGs it writes
(``--jpeg-size``, default 500 x 375, quality 90) from file to tensor.

With ``--decode`` it times only the ImageNet-LT CE train path from JPEG
files (``--decode-samples`` of them, ``--jpeg-size``) to the normalised
input: the shipped per-sample config (decode, RandomResizedCrop, flip,
ColorJitter per image in the pipeline) against its decode-on-the-device
variant (``LoadJPEGBytes`` + ``DecodeBatchAugDataPreprocessor`` on
``--device``, default the CPU), interleaved rounds, one thread, printed as
a ratio. Per-core figures mean little with ``--device cuda``: there the
decode path's rate is that of one loader thread feeding the GPU.

    python benchmarks/data_throughput.py [--samples 1024] [--repeat 3]
        [--imagenet] [--json OUT.json] [--tiny]
    python benchmarks/data_throughput.py --decode [--decode-samples 256]
        [--repeat 3] [--jpeg-size 500 375] [--device cuda]
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import ltplug  # noqa: E402,F401
from mmcv.transforms import Compose  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.dataset import default_collate, pseudo_collate  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmpretrain.registry import MODELS  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: method -> (shipped config, its -batchaug variant in configs/batchaug)
METHODS = {
    name: (f'configs/{folder}/{stem}.py',
           f'configs/batchaug/{stem}-batchaug.py')
    for name, folder, stem in [
        ('CE', 'ce', 'ce_resnet32_1xb128-200e_cifar10-lt-r100'),
        ('SSD stage I', 'ssd',
         'ssd-stage1_resnet32_1xb128-200e_cifar10-lt-r100'),
        ('CBD teacher (aug)', 'cbd',
         'cbd-teacher-aug_resnet32_1xb128-200e_cifar10-lt-r100'),
        ('NCL + MoCo', 'ncl',
         'ncl-moco_resnet32_1xb64-400e_cifar10-lt-r100'),
    ]
}
IMAGENET_CONFIGS = [
    'configs/ce/ce_resnet50_4xb128-90e_imagenet-lt.py',
    'configs/ncl/ncl_resnet50_4xb64-200e_imagenet-lt.py',
    'configs/ce/ce_resnet152-in1k-pre_4xb64-30e_places-lt.py',
    'configs/ncl/ncl-moco_resnet152_8xb32-30e_places-lt.py',
    'configs/ce/ce_resnet50_4xb128-90e_inat2018.py',
    'configs/ncl/ncl_resnet50_8xb64-400e_inat2018.py',
]
#: (shipped per-sample config, its decode-on-the-device variant)
DECODE_CONFIGS = (
    'configs/ce/ce_resnet50_4xb128-90e_imagenet-lt.py',
    'configs/batchaug/ce_resnet50_4xb128-90e_imagenet-lt-gpudecode.py')


def cifar_images(n: int, seed: int = 0) -> np.ndarray:
    """``n`` 32 x 32 RGB uint8 images: the shared CIFAR-10 training images
    when ``../shared/data/cifar10`` is there, else smooth random ones."""
    folder = osp.join(osp.dirname(ROOT), 'shared', 'data', 'cifar10')
    if osp.exists(osp.join(folder, 'load_cifar10.py')):
        sys.path.insert(0, folder)
        try:
            import load_cifar10
            x = load_cifar10.load()[0][0]
        finally:
            sys.path.remove(folder)
        return np.ascontiguousarray(x[:n])
    rng = np.random.RandomState(seed)
    small = rng.randint(0, 256, (n, 8, 8, 3)).astype(np.float32)
    return np.repeat(np.repeat(small, 4, 1), 4, 2).astype(np.uint8)


def _data_preprocessor(cfg: Config):
    dp = cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor')
    dp = dict(dp)
    dp.setdefault('type', 'ClsDataPreprocessor')
    return MODELS.build(dp)


def _collate(cfg: Config) -> Callable:
    fn = cfg.train_dataloader.get('collate_fn', {}).get('type')
    return default_collate if fn == 'default_collate' else pseudo_collate


def make_path(cfg_path: str,
              images: np.ndarray,
              batch_size: int,
              workers_only: bool = False) -> Callable[[], int]:
    """A callable that runs ``images`` through ``cfg_path``'s train data
    path (pipeline, collate, data preprocessor; with ``workers_only`` only
    the pipeline and collate, the dataloader workers' share) and returns
    the count."""
    cfg = Config.fromfile(osp.join(ROOT, cfg_path))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
        preprocessor = _data_preprocessor(cfg)
    collate = _collate(cfg)

    def run() -> int:
        for start in range(0, len(images), batch_size):
            samples = [
                pipeline(dict(img=img, gt_label=0, img_shape=img.shape[:2],
                              ori_shape=img.shape[:2]))
                for img in images[start:start + batch_size]
            ]
            batch = collate(samples)
            if not workers_only:
                preprocessor(batch, True)
        return len(images)

    return run


def time_once(fn: Callable[[], int]) -> float:
    """Samples per second of one call of ``fn``."""
    t0 = time.perf_counter()
    n = fn()
    return n / (time.perf_counter() - t0)


def cifar_rows(samples: int, repeat: int,
               methods: List[str]) -> List[Dict[str, object]]:
    """Interleaved per-sample / batched rounds for each method."""
    images = cifar_images(samples)
    paths = {}
    for name in methods:
        ref, batched = METHODS[name]
        bs = Config.fromfile(osp.join(ROOT,
                                      ref)).train_dataloader.batch_size
        paths[name] = (make_path(ref, images, bs),
                       make_path(batched, images, bs),
                       make_path(batched, images, bs, workers_only=True), bs)
    for per, bat, work, _ in paths.values():  # warm-up (imports, allocator)
        per(), bat(), work()
    rates = {name: ([], [], []) for name in methods}
    for _ in range(repeat):
        for name, (per, bat, work, _) in paths.items():
            rates[name][0].append(time_once(per))
            rates[name][1].append(time_once(bat))
            rates[name][2].append(time_once(work))
    rows = []
    for name in methods:
        per, bat, work = rates[name]
        rows.append(
            dict(method=name,
                 batch_size=paths[name][3],
                 per_sample=round(statistics.median(per), 1),
                 batched=round(statistics.median(bat), 1),
                 ratio=round(statistics.median(
                     [b / p for p, b in zip(per, bat)]), 2),
                 ratios=[round(b / p, 2) for p, b in zip(per, bat)],
                 workers=round(statistics.median(work), 1),
                 workers_ratio=round(statistics.median(
                     [w / p for p, w in zip(per, work)]), 1)))
    return rows


def write_jpegs(folder: str, n: int, size: tuple) -> List[str]:
    """``n`` photo-like JPEGs (smooth colour fields plus noise)."""
    from PIL import Image
    rng = np.random.RandomState(0)
    w, h = size
    paths = []
    for i in range(n):
        small = rng.randint(0, 256, (h // 25 + 1, w // 25 + 1, 3))
        img = Image.fromarray(small.astype(np.uint8)).resize((w, h),
                                                             Image.BICUBIC)
        arr = np.asarray(img).astype(np.int16) + rng.randint(
            -12, 13, (h, w, 3))
        path = osp.join(folder, f'{i:04d}.jpg')
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(
            path, quality=90)
        paths.append(path)
    return paths


def imagenet_rows(samples: int, repeat: int,
                  size: tuple) -> List[Dict[str, object]]:
    """Per-sample samples/s of the shipped large-image train pipelines."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        files = write_jpegs(folder, min(samples, 64), size)
        pipelines = {}
        for rel in IMAGENET_CONFIGS:
            if not osp.exists(osp.join(ROOT, rel)):
                continue
            cfg = Config.fromfile(osp.join(ROOT, rel))
            with DefaultScope.overwrite_default_scope('mmpretrain'):
                pipelines[rel] = Compose(cfg.train_dataloader.dataset.pipeline)
        rates = {rel: [] for rel in pipelines}
        for _ in range(repeat):
            for rel, pipeline in pipelines.items():
                def run(pipeline=pipeline) -> int:
                    for i in range(samples):
                        path = files[i % len(files)]
                        pipeline(dict(img_path=path, gt_label=0))
                    return samples
                rates[rel].append(time_once(run))
        for rel, r in rates.items():
            rows.append(dict(config=osp.basename(rel),
                             per_sample=round(statistics.median(r), 1)))
    return rows


def make_file_path(cfg_path: str, files: List[str], samples: int,
                   batch_size: int,
                   device: str = 'cpu') -> Callable[[], int]:
    """A callable that runs ``samples`` files (cycling through ``files``)
    through ``cfg_path``'s train data path, from file to the normalised
    model input (pipeline, collate, data preprocessor in training mode on
    ``device``), and returns the count."""
    cfg = Config.fromfile(osp.join(ROOT, cfg_path))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
        preprocessor = _data_preprocessor(cfg).to(device)
    collate = _collate(cfg)
    sync = torch.cuda.synchronize if device.startswith('cuda') else (
        lambda: None)

    def run() -> int:
        for start in range(0, samples, batch_size):
            batch = [
                pipeline(dict(img_path=files[i % len(files)], gt_label=0))
                for i in range(start, min(samples, start + batch_size))
            ]
            preprocessor(collate(batch), True)
        sync()
        return samples

    return run


def decode_rows(samples: int, repeat: int, size: tuple,
                batch_size: int = 0,
                device: str = 'cpu') -> Dict[str, object]:
    """Interleaved rounds of the shipped per-sample ImageNet-LT CE train
    path and its decode-on-the-device variant, on the same JPEGs."""
    ref, dec = DECODE_CONFIGS
    if not batch_size:
        batch_size = Config.fromfile(osp.join(
            ROOT, ref)).train_dataloader.batch_size
    with tempfile.TemporaryDirectory() as folder:
        files = write_jpegs(folder, samples, size)
        per = make_file_path(ref, files, samples, batch_size, device)
        bat = make_file_path(dec, files, samples, batch_size, device)
        per(), bat()  # warm-up (page cache, imports, allocator)
        rates = ([], [])
        for _ in range(repeat):
            rates[0].append(time_once(per))
            rates[1].append(time_once(bat))
    p, b = rates
    return dict(per_sample_config=osp.basename(ref),
                decode_config=osp.basename(dec), batch_size=batch_size,
                device=device,
                samples=samples,
                per_sample=round(statistics.median(p), 1),
                decode=round(statistics.median(b), 1),
                ratio=round(statistics.median(
                    [y / x for x, y in zip(p, b)]), 2),
                ratios=[round(y / x, 2) for x, y in zip(p, b)],
                rounds=dict(per_sample=[round(x, 1) for x in p],
                            decode=[round(y, 1) for y in b]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--samples', type=int, default=1024,
                        help='images per timed run of each path')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--methods', nargs='*', default=list(METHODS),
                        choices=list(METHODS))
    parser.add_argument('--imagenet', action='store_true')
    parser.add_argument('--jpeg-size', type=int, nargs=2, default=(500, 375))
    parser.add_argument('--decode', action='store_true',
                        help='only: decode-on-the-device ImageNet-LT CE path '
                        '(CPU) vs the shipped per-sample one, from JPEG '
                        'files')
    parser.add_argument('--decode-samples', type=int, default=256,
                        help='distinct JPEG files (and samples per round) '
                        'of --decode')
    parser.add_argument('--device', default='cpu',
                        help='device of the data preprocessors of --decode '
                        '(cuda: nvjpeg decode; per-sample path: its '
                        'normalisation only); the pipelines stay on one '
                        'CPU thread')
    parser.add_argument('--json', default=None)
    parser.add_argument('--tiny', action='store_true',
                        help='128 samples, 1 round, 32 JPEG samples')
    args = parser.parse_args()
    if args.tiny:
        args.samples, args.repeat = 128, 1
    torch.set_num_threads(1)
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    if args.decode:
        row = decode_rows(args.decode_samples, args.repeat,
                          tuple(args.jpeg_size), device=args.device)
        print(f'ImageNet-LT CE train data path from {args.jpeg_size[0]}x'
              f'{args.jpeg_size[1]} JPEG files, samples/s per core '
              f'(1 thread, preprocessors on {args.device}, '
              f'{row["samples"]} files, batch '
              f'{row["batch_size"]}, median of {args.repeat} interleaved '
              f'rounds)')
        print(f'per-sample ({row["per_sample_config"]}): '
              f'{row["per_sample"]:.1f}')
        print(f'decode on the device ({args.device}, '
              f'{row["decode_config"]}): {row["decode"]:.1f}')
        print(f'ratio {row["ratio"]:.2f}x  rounds {row["ratios"]}')
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(dict(threads=torch.get_num_threads(),
                               repeat=args.repeat,
                               jpeg_size=list(args.jpeg_size), decode=row),
                          f, indent=1)
        return
    result = dict(threads=torch.get_num_threads(), samples=args.samples,
                  repeat=args.repeat,
                  cifar=cifar_rows(args.samples, args.repeat, args.methods))
    print(f'CIFAR-10-LT train data path, samples/s per core '
          f'({result["threads"]} thread, {args.samples} samples, median of '
          f'{args.repeat} interleaved rounds)')
    print(f'{"method":17s} {"batch":>5s} {"per-sample":>11s} '
          f'{"batched":>9s} {"ratio":>7s} {"workers":>9s} {"ratio":>7s}  '
          f'rounds (batched / per-sample)')
    for row in result['cifar']:
        print(f'{row["method"]:17s} {row["batch_size"]:5d} '
              f'{row["per_sample"]:11.1f} {row["batched"]:9.1f} '
              f'{row["ratio"]:6.2f}x {row["workers"]:9.1f} '
              f'{row["workers_ratio"]:6.1f}x  {row["ratios"]}')
    print('workers: the batched path without its data preprocessor '
          '(PackInputs + collate: what stays in the dataloader workers '
          'when the ops run on a GPU), against the whole per-sample path')
    if args.imagenet:
        n = 32 if args.tiny else max(64, args.samples // 8)
        result['jpeg_size'] = list(args.jpeg_size)
        result['imagenet'] = imagenet_rows(n, args.repeat,
                                           tuple(args.jpeg_size))
        print(f'\nlarge-image train pipelines (per-sample, from '
              f'{args.jpeg_size[0]}x{args.jpeg_size[1]} JPEG files), '
              f'samples/s per core')
        for row in result['imagenet']:
            print(f'{row["config"]:50s} {row["per_sample"]:8.1f}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()
