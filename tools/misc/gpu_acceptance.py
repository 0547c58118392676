# Copyright (c) ltplug contributors. All rights reserved.
"""Prove the GPU path: every method's CIFAR-10-LT config trains for about
``--iters`` iterations in fp32 and in bf16 AMP, a run killed with SIGKILL
after a checkpoint and resumed with ``--resume`` ends with the same weights
as an uninterrupted one, ``ShotAccuracy`` gives the same figures from CUDA
tensors as from CPU ones, and each method's training throughput is printed
with its ratio to CE. One JSON object is written (``--out``) after every
step, so a run stopped by a time limit still leaves what it finished.

Run through ``tools/misc/gpu_acceptance.sh`` (it installs the OpenMMLab
wheels of a bundle first). Two modes:

- ``prepare`` (on a machine with ``../shared``): writes a bundle folder with
  a small CIFAR-10 file (``cifar10_mini.npz``, 12 MiB: CIFAR-10-LT ratio
  100 as the first ``n_c`` training images of each class, 12,406, and the
  first ``--test-per-class`` test images of each class, as the JPEG bytes
  of the project's shared CIFAR-10)
  and, with ``--wheels``, the pure-Python wheels of mmengine, mmcv-lite,
  mmpretrain and their small dependencies (``pip download``).
- ``run``: decodes the bundle's CIFAR-10 into the official python layout,
  then trains, resumes and measures. ``--device cpu`` runs the same steps on
  the CPU (bf16 AMP is skipped there: MMEngine's ``AmpOptimWrapper`` needs an
  accelerator), which is what the test suite does with a few iterations.

Deterministic settings of the resume check: ``randomness.deterministic=True``
(cuDNN deterministic, ``torch.use_deterministic_algorithms``),
``CUBLAS_WORKSPACE_CONFIG=:4096:8``, the same seed and data workers, and the
``RNGStateHook`` of every config; the weights must then be bit-identical.

Example::

    python tools/misc/gpu_acceptance.py prepare --bundle .gpu_bundle --wheels
    python tools/misc/gpu_acceptance.py run --bundle .gpu_bundle \\
        --work-dir /tmp/accept --out /tmp/accept/acceptance.json
"""
import argparse
import glob
import io
import json
import math
import os
import os.path as osp
import pickle
import shutil
import signal
import subprocess
import sys
import time
from typing import Dict, List, Optional

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHARED_CIFAR10 = osp.join(osp.dirname(ROOT), 'shared', 'data', 'cifar10',
                          'cifar10_jpeg_bytes.npz')
MINI_NAME = 'cifar10_mini.npz'

#: Pure-Python distributions a bare torch machine lacks (``pip download
#: --no-deps``); the versions are the ones installed where ``prepare`` runs.
WHEELS = ('mmengine', 'mmcv-lite', 'mmpretrain', 'addict', 'yapf',
          'termcolor', 'mat4py', 'modelindex', 'model-index', 'ordered-set',
          'platformdirs', 'importlib-metadata')

sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
import accuracy  # noqa: E402  (the chained stages of every method)

sys.path.pop(0)

METHODS: Dict[str, List[accuracy.Stage]] = dict(accuracy.METHODS)
METHODS['ncl_moco'] = [
    accuracy.Stage(
        'ncl_moco',
        'configs/ncl/ncl-moco_resnet32_1xb64-400e_cifar10-lt-r100.py')
]


def log(msg: str) -> None:
    """Progress line on stdout, flushed."""
    print(f'[gpu_acceptance] {msg}', flush=True)


# ----------------------------------------------------------------- data
def lt_counts(ratio: float = 100.) -> List[int]:
    """CIFAR-10-LT's per-class training counts (``n_max`` 5000)."""
    return [int(5000 * (1. / ratio)**(c / 9.)) for c in range(10)]


def make_mini(src: str, out: str, test_per_class: int) -> str:
    """Write ``out`` (npz of JPEG bytes): CIFAR-10-LT ratio 100 (the first
    ``n_c`` training images of each class, 12,406) and the first
    ``test_per_class`` test images of each class.

    Written as a training set, it holds exactly the profile's counts, so the
    configs' ``CIFAR10LT`` (ratio 100) keeps every image of it.

    Args:
        src (str): The shared ``cifar10_jpeg_bytes.npz``.
        out (str): Output file.
        test_per_class (int): Test images kept per class.

    Returns:
        str: ``out``.
    """
    if not osp.isfile(src):
        raise SystemExit(f'{src} not found (the shared CIFAR-10)')
    d = np.load(src)
    arrays = dict(classes=d['classes'])
    for split, per_class in (('train', lt_counts()),
                             ('test', [test_per_class] * 10)):
        labels = d[f'{split}_labels'].astype(np.int64)
        offsets = d[f'{split}_offsets']
        blob = d[f'{split}_jpeg']
        keep = np.concatenate([
            np.flatnonzero(labels == c)[:n] for c, n in enumerate(per_class)
        ])
        short = [c for c, n in enumerate(per_class)
                 if (labels[keep] == c).sum() < n]
        if short:
            raise SystemExit(f'{split}: classes {short} have too few images '
                             f'in {src}')
        pieces = [blob[offsets[i]:offsets[i + 1]] for i in keep]
        arrays[f'{split}_jpeg'] = np.concatenate(pieces)
        arrays[f'{split}_offsets'] = np.concatenate(
            [[0], np.cumsum([len(p) for p in pieces])]).astype(np.int64)
        arrays[f'{split}_labels'] = labels[keep].astype(np.uint8)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    np.savez(out, **arrays)
    return out


def write_cifar_batches(mini: str, root: str) -> str:
    """Decode ``mini`` into ``root/cifar-10-batches-py`` (official layout:
    5 training batches, ``test_batch``, ``batches.meta``).

    Returns:
        str: ``root`` (what ``CIFAR10LT(data_root=...)`` takes).
    """
    from PIL import Image
    d = np.load(mini)
    folder = osp.join(root, 'cifar-10-batches-py')
    os.makedirs(folder, exist_ok=True)

    def decode(split):
        blob, offsets = d[f'{split}_jpeg'].tobytes(), d[f'{split}_offsets']
        x = np.stack([
            np.asarray(Image.open(io.BytesIO(
                blob[offsets[i]:offsets[i + 1]])).convert('RGB'))
            for i in range(len(offsets) - 1)
        ])
        # CHW rows, as the official files
        return x.transpose(0, 3, 1, 2).reshape(len(x), -1), \
            [int(v) for v in d[f'{split}_labels']]

    def dump(name, data, labels):
        with open(osp.join(folder, name), 'wb') as f:
            pickle.dump(dict(data=data, labels=labels,
                             filenames=[f'{i}.png' for i in
                                        range(len(labels))]), f, protocol=4)

    x_tr, y_tr = decode('train')
    parts = np.array_split(np.arange(len(y_tr)), 5)
    for b, sel in enumerate(parts):
        dump(f'data_batch_{b + 1}', x_tr[sel], [y_tr[i] for i in sel])
    x_te, y_te = decode('test')
    dump('test_batch', x_te, y_te)
    with open(osp.join(folder, 'batches.meta'), 'wb') as f:
        pickle.dump(dict(label_names=[str(c) for c in d['classes']]), f,
                    protocol=4)
    return root


def train_size(train_per_class: Optional[int]) -> int:
    """Training images of CIFAR-10-LT ratio 100, capped per class."""
    return sum(n if train_per_class is None else min(n, train_per_class)
               for n in lt_counts())


# ------------------------------------------------------------- training
def _data_options(args, data_root: str) -> List[str]:
    """``--cfg-options`` for the mini data, workers and iteration logs."""
    opts = []
    for key in ('train_dataloader', 'val_dataloader'):
        opts += [f'{key}.num_workers={args.workers}',
                 f'{key}.persistent_workers={args.workers > 0}']
    if args.train_per_class:
        opts.append('train_dataloader.dataset.max_per_class='
                    f'{args.train_per_class}')
    if args.test_per_class:
        opts += [f'{key}.dataset.max_per_class={args.test_per_class}'
                 for key in ('val_dataloader', 'test_dataloader')]
    opts.append('default_hooks.logger.interval=10')
    if args.batch_size:
        opts += [f'train_dataloader.batch_size={args.batch_size}',
                 f'val_dataloader.batch_size={args.batch_size}']
    return opts


def _epochs_for(args, stage: accuracy.Stage) -> int:
    """Epochs that make about ``--iters`` iterations for this stage."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, stage.config),
                          import_custom_modules=False)
    batch = args.batch_size or cfg.train_dataloader.batch_size
    per_epoch = math.ceil(train_size(args.train_per_class) / batch)
    return max(1, round(args.iters / per_epoch))


def run_method(method: str, precision: str, args, data_root: str,
               done: Dict[str, dict]) -> dict:
    """Train every stage of ``method`` in ``precision``; the record of its
    last stage, with ``images_per_s`` and ``top1``."""
    opts = ['--cfg-options'] + _data_options(args, data_root)
    if precision == 'bf16':
        # MMPretrain's --amp: AmpOptimWrapper (dynamic loss scale), here
        # with bf16 autocast instead of its fp16 default
        opts = ['--amp'] + opts + ['optim_wrapper.dtype=bfloat16']
    bench = argparse.Namespace(
        budget='cpu', tiny=False, workers=args.workers, gpus=1,
        work_dir=osp.join(args.work_dir, precision))
    record = None
    for stage in METHODS[method]:
        bench.epochs = bench.ft_epochs = _epochs_for(args, stage)
        record = accuracy.run_stage(stage, bench, done, data_root,
                                    extra_args=opts)
    top1 = record['metrics'].get('shot/top1')
    return dict(images_per_s=record['images_per_s'], top1=top1,
                wall_s=record['wall_s'],
                finite=top1 is not None and math.isfinite(top1))


def _final_state(work: str) -> Dict[str, 'object']:
    from ltplug.utils.checkpoint import load_checkpoint_safely
    path = accuracy._last_checkpoint(work)
    return load_checkpoint_safely(path, map_location='cpu')['state_dict']


def _train_cmd(cfg: str, work: str, opts: List[str]) -> List[str]:
    return [sys.executable, osp.join(ROOT, 'tools', 'train.py'), cfg,
            '--work-dir', work] + opts


def resume_check(method: str, args, data_root: str, env: dict) -> dict:
    """Uninterrupted run vs SIGKILL after the epoch-1 checkpoint plus
    ``--resume`` from it: the largest weight difference (0 when equal)."""
    stage = METHODS[method][-1]
    if stage.needs:
        raise SystemExit(f'--resume-methods: {method} has earlier stages; '
                         'pick a one-stage method')
    base = osp.join(args.work_dir, 'resume', method)
    os.makedirs(base, exist_ok=True)
    cfg = osp.join(base, 'cfg.py')
    epochs = 2
    with open(cfg, 'w') as f:
        f.write(f'_base_ = [{osp.join(ROOT, stage.config)!r}]\n'
                f'train_cfg = dict(max_epochs={epochs}, '
                f'val_interval={epochs})\n'
                'default_hooks = dict(checkpoint=dict(interval=1, '
                'max_keep_ckpts=5))\n'
                'randomness = dict(seed=0, deterministic=True)\n')
    opts = ['--cfg-options'] + _data_options(args, data_root) + [
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        'train_dataloader.dataset.check_md5=False',
        'val_dataloader.dataset.check_md5=False',
        'test_dataloader.dataset.check_md5=False',
    ]
    ref, killed = osp.join(base, 'uninterrupted'), osp.join(base, 'killed')
    for folder in (ref, killed):
        shutil.rmtree(folder, ignore_errors=True)
    t0 = time.time()
    subprocess.run(_train_cmd(cfg, ref, opts), env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    proc = subprocess.Popen(_train_cmd(cfg, killed, opts), env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    first = osp.join(killed, 'epoch_1.pth')
    while proc.poll() is None and not osp.isfile(
            osp.join(killed, 'last_checkpoint')):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if not osp.isfile(first):
        raise RuntimeError(f'{method}: no epoch-1 checkpoint before the kill '
                           f'(exit {proc.returncode})')
    for later in glob.glob(osp.join(killed, 'epoch_*.pth')):
        if later != first:
            os.remove(later)
    resumed_log = osp.join(base, 'resumed.log')
    with open(resumed_log, 'w') as f:
        subprocess.run(_train_cmd(cfg, killed, ['--resume', first] + opts),
                       env=env, check=True, stdout=f,
                       stderr=subprocess.STDOUT)
    a, b = _final_state(ref), _final_state(killed)
    diff = max(float((a[k].double() - b[k].double()).abs().max())
               if a[k].is_floating_point() else float((a[k] != b[k]).sum())
               for k in a)
    with open(resumed_log) as f:
        restored = 'restored the random generators' in f.read()
    return dict(max_abs_diff=diff, equal=diff == 0.0 and set(a) == set(b),
                rng_restored=restored, wall_s=round(time.time() - t0, 1))


def shot_accuracy_check(device: str) -> dict:
    """``ShotAccuracy`` from tensors on ``device`` equals it from CPU."""
    import torch
    from mmpretrain.registry import METRICS

    import ltplug  # noqa: F401
    gen = torch.Generator().manual_seed(0)
    counts = [500, 300, 100, 60, 30, 20, 12, 8, 5, 3]
    scores = torch.rand(257, 10, generator=gen).softmax(1)
    labels = torch.randint(0, 10, (257, ), generator=gen)
    out = {}
    for where in ('cpu', device):
        metric = METRICS.build(dict(type='ShotAccuracy', topk=(1, 5),
                                    class_counts=counts))
        s, y = scores.to(where), labels.to(where)
        for i in range(0, len(y), 64):
            metric.process(None, [
                dict(pred_score=s[j], gt_label=y[j:j + 1])
                for j in range(i, min(i + 64, len(y)))
            ])
        out[where] = metric.compute_metrics(metric.results)
    return dict(equal=out['cpu'] == out[device], metrics=out[device])


# ------------------------------------------------------------------ main
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='mode', required=True)
    prep = sub.add_parser('prepare', help='write the bundle')
    prep.add_argument('--bundle', default='.gpu_bundle')
    prep.add_argument('--src', default=SHARED_CIFAR10)
    prep.add_argument('--test-per-class', type=int, default=100)
    prep.add_argument('--wheels', action='store_true',
                      help='also pip download the OpenMMLab wheels')
    run = sub.add_parser('run', help='train, resume and measure')
    run.add_argument('--bundle', default='.gpu_bundle')
    run.add_argument('--device', choices=['cuda', 'cpu'], default='cuda')
    run.add_argument('--work-dir', default='work_dirs/gpu_acceptance')
    run.add_argument('--out', default=None,
                     help='JSON file (default WORK_DIR/acceptance.json)')
    run.add_argument('--iters', type=int, default=100)
    run.add_argument('--train-per-class', type=int, default=None,
                     help='cap the training images per class (smoke runs)')
    run.add_argument('--test-per-class', type=int, default=None,
                     help='cap the test images per class (smoke runs)')
    run.add_argument('--batch-size', type=int, default=None,
                     help='override every config\'s batch (CPU smoke runs)')
    run.add_argument('--workers', type=int, default=8)
    run.add_argument('--methods', nargs='*', default=list(METHODS),
                     choices=list(METHODS))
    run.add_argument('--precisions', nargs='*', default=['fp32', 'bf16'],
                     choices=['fp32', 'bf16'])
    run.add_argument('--resume-methods', nargs='*', default=['ce'],
                     choices=[m for m, s in METHODS.items() if len(s) == 1])
    run.add_argument('--time-budget', type=float, default=460.,
                     help='seconds; later steps are skipped past it')
    args = parser.parse_args(argv)
    if args.mode == 'run' and args.iters < 1:
        parser.error(f'--iters must be >= 1, but got {args.iters}')
    return args


def prepare(args) -> int:
    os.makedirs(args.bundle, exist_ok=True)
    out = make_mini(args.src, osp.join(args.bundle, MINI_NAME),
                    args.test_per_class)
    log(f'wrote {out} ({osp.getsize(out) / 2**20:.1f} MiB)')
    if args.wheels:
        from importlib.metadata import version
        pins = [f'{name}=={version(name)}' for name in WHEELS]
        folder = osp.join(args.bundle, 'wheels')
        subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps',
                        '--only-binary=:all:', '-d', folder] + pins,
                       check=True)
        log(f'wheels in {folder}: {", ".join(pins)}')
    return 0


def run(args) -> int:
    import torch
    t_start = time.time()
    out_path = args.out or osp.join(args.work_dir, 'acceptance.json')
    os.makedirs(args.work_dir, exist_ok=True)
    # the training processes inherit these
    os.environ['CUBLAS_WORKSPACE_CONFIG'] = ':4096:8'
    os.environ['PYTHONUNBUFFERED'] = '1'
    precisions = list(args.precisions)
    skipped: Dict[str, str] = {}
    if args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
        if 'bf16' in precisions:
            precisions.remove('bf16')
            skipped['bf16'] = ('MMEngine AmpOptimWrapper needs an '
                               'accelerator; not run on the CPU')
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda but torch sees no CUDA device '
                         '(use --device cpu for the CPU smoke run)')
    result: dict = dict(
        device=(torch.cuda.get_device_name(0)
                if args.device == 'cuda' else 'cpu'),
        torch=torch.__version__, iters=args.iters,
        train_images=train_size(args.train_per_class), methods={},
        resume={},
        skipped=skipped, failures=[])

    def save():
        result['wall_s'] = round(time.time() - t_start, 1)
        with open(out_path, 'w') as f:
            json.dump(result, f, indent=2)

    def over_budget(what: str) -> bool:
        if time.time() - t_start < args.time_budget:
            return False
        skipped[what] = f'past --time-budget {args.time_budget:.0f} s'
        log(f'skipping {what}: past the time budget')
        return True

    mini = osp.join(args.bundle, MINI_NAME)
    if not osp.isfile(mini):
        raise SystemExit(f'{mini} not found: run "gpu_acceptance.py prepare '
                         f'--bundle {args.bundle}" where ../shared exists')
    data_root = write_cifar_batches(mini, osp.join(args.work_dir, 'cifar10'))
    log(f'data: {result["train_images"]} training images (CIFAR-10-LT '
        f'ratio 100, first n_c per class, cap {args.train_per_class}), in '
        f'{data_root}')
    result['shot_accuracy'] = shot_accuracy_check(
        'cuda' if args.device == 'cuda' else 'cpu')
    if not result['shot_accuracy']['equal']:
        result['failures'].append('ShotAccuracy differs on the device')
    save()
    for precision in precisions:
        done: Dict[str, dict] = {}
        for method in args.methods:
            if over_budget(f'{method}/{precision}'):
                continue
            log(f'{method} ({precision})')
            try:
                rec = run_method(method, precision, args, data_root, done)
            except Exception as e:  # noqa: BLE001 (reported, run goes on)
                rec = dict(error=str(e)[-2000:], finite=False)
            result['methods'].setdefault(method, {})[precision] = rec
            if not rec.get('finite'):
                result['failures'].append(f'{method}/{precision}: '
                                          f'{rec.get("error", "not finite")}'
                                          [:300])
            save()
        ce = result['methods'].get('ce', {}).get(precision, {})
        for method, recs in result['methods'].items():
            r = recs.get(precision, {})
            if r.get('images_per_s') and ce.get('images_per_s'):
                r['ratio_to_ce'] = round(
                    r['images_per_s'] / ce['images_per_s'], 3)
        save()
    for method in args.resume_methods:
        if over_budget(f'resume/{method}'):
            continue
        log(f'kill -9 + --resume: {method}')
        try:
            rec = resume_check(method, args, data_root, env)
        except Exception as e:  # noqa: BLE001
            rec = dict(error=str(e)[-2000:], equal=False)
        result['resume'][method] = rec
        if not (rec.get('equal') and rec.get('rng_restored')):
            result['failures'].append(f'resume/{method}: {rec}'[:300])
        save()
    save()
    print(json.dumps(result, indent=2), flush=True)
    log(f'{len(result["failures"])} failure(s), {result["wall_s"]:.0f} s')
    return 1 if result['failures'] else 0


def main(argv=None) -> int:
    args = parse_args(argv)
    return prepare(args) if args.mode == 'prepare' else run(args)


if __name__ == '__main__':
    sys.exit(main())
