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
- ``run --full``: instead of the short steps, CE, Balanced Softmax and NCL
  on the bundle's CIFAR-10-LT ratio 100 at their configs' full schedules
  (200 / 200 / 400 epochs) with the batched augmentation
  (``configs/batchaug/``), in this process: after ``--full-warmup-iters``
  steps, ``--full-timed-iters`` steps are timed and the estimate of the
  whole schedule's training (step time x its iterations) is printed; each
  run reports top-1 / many / medium / few next to the published figures,
  its wall time and training samples/s (JSON and a printed table), and
  fails when its built model did not run ``BatchAugDataPreprocessor`` on
  every step. ``--full-iters N`` stops each run after N steps (the
  schedule stays the config's; the CPU test), ``--time-budget`` cuts a run
  whose estimate ends past it (a failure).

Deterministic settings of the resume check: ``randomness.deterministic=True``
(cuDNN deterministic, ``torch.use_deterministic_algorithms``),
``CUBLAS_WORKSPACE_CONFIG=:4096:8``, the same seed and data workers, and the
``RNGStateHook`` of every config; the weights must then be bit-identical.

Example::

    python tools/misc/gpu_acceptance.py prepare --bundle .gpu_bundle --wheels
    python tools/misc/gpu_acceptance.py run --bundle .gpu_bundle \\
        --work-dir /tmp/accept --out /tmp/accept/acceptance.json
    python tools/misc/gpu_acceptance.py run --full --bundle .gpu_bundle \\
        --work-dir /tmp/accept_full
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
from typing import Callable, Dict, List, Optional

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


# ------------------------------------------------------- full schedules
#: ``--full``: the configs' own schedules with the batched augmentation
#: (``configs/batchaug/``), by method
FULL_CONFIGS: Dict[str, str] = {
    'ce': 'configs/batchaug/ce_resnet32_1xb128-200e_cifar10-lt-r100-'
    'batchaug.py',
    'balanced_softmax': 'configs/batchaug/balanced-softmax_resnet32_'
    '1xb128-200e_cifar10-lt-r100-batchaug.py',
    'ncl': 'configs/batchaug/ncl_resnet32_1xb64-400e_cifar10-lt-r100-'
    'batchaug.py',
}

#: Published CIFAR-10-LT ratio 100 ResNet-32 figures (%), None where none
#: is published (many / medium / few of all three; see the methods'
#: READMEs for the sources and their confidence)
FULL_PUBLISHED: Dict[str, dict] = {
    'ce': dict(top1=70.4, many=None, medium=None, few=None,
               source='LDAM-DRW, ERM row (configs/ce/README.md)'),
    'balanced_softmax': dict(
        top1=83.1, many=None, medium=None, few=None,
        source='BALMS paper, its own recipe, as remembered '
        '(configs/balanced_softmax/README.md); this config runs the '
        'LDAM-DRW schedule, so compare with the CE run'),
    'ncl': dict(top1=85.5, top1_single=84.7, many=None, medium=None,
                few=None,
                source='NCL paper: 85.5 ensemble, 84.7 best single expert '
                '(configs/ncl/README.md)'),
}

#: The accuracy benchmark's CIFAR-10-LT r100 groups (3 / 4 / 3 classes):
#: the standard rule (many > 100, few < 20) leaves few-shot empty there
FULL_GROUP_THRESHOLDS = (1500, 200)

_FULL_CLASSES: Optional[tuple] = None


def full_classes() -> tuple:
    """The loop and hook of ``--full`` (built on first use, so that the
    module imports without mmengine and ``--device cpu`` can hide CUDA
    before torch looks for it).

    Returns:
        tuple: ``(CappedEpochBasedTrainLoop, FullRunProbe)``; the loop is
        registered in MMEngine's ``LOOPS`` as ``'GpuAcceptanceTrainLoop'``.
    """
    global _FULL_CLASSES
    if _FULL_CLASSES is not None:
        return _FULL_CLASSES
    import torch
    from mmengine.hooks import Hook
    from mmengine.model import is_model_wrapper
    from mmengine.registry import LOOPS
    from mmengine.runner import EpochBasedTrainLoop

    class CappedEpochBasedTrainLoop(EpochBasedTrainLoop):
        """``EpochBasedTrainLoop`` that may stop after
        ``max_train_iters`` iterations; the schedule (epochs, LR
        milestones, validation interval) stays the config's, and the
        epoch cut short is validated.

        Args:
            max_train_iters (int, optional): Iterations to train at most.
                Defaults to None (the whole schedule).
            *args, **kwargs: ``EpochBasedTrainLoop``'s arguments.
        """

        def __init__(self, *args, max_train_iters: Optional[int] = None,
                     **kwargs) -> None:
            super().__init__(*args, **kwargs)
            if max_train_iters is not None and max_train_iters < 1:
                raise ValueError('max_train_iters must be None or >= 1, '
                                 f'but got {max_train_iters}')
            self.max_train_iters = max_train_iters

        @property
        def capped(self) -> bool:
            """bool: Whether ``max_train_iters`` iterations have run."""
            return (self.max_train_iters is not None
                    and self._iter >= self.max_train_iters)

        def run(self) -> torch.nn.Module:
            """Train the epochs of the schedule, or up to the cap."""
            self.runner.call_hook('before_train')
            while self._epoch < self._max_epochs and not self.stop_training:
                self.run_epoch()
                self._decide_current_val_interval()
                cut = self.capped and self._epoch < self._max_epochs
                if (self.runner.val_loop is not None
                        and self._epoch >= self.val_begin
                        and (self._epoch % self.val_interval == 0
                             or self._epoch == self._max_epochs or cut)):
                    self.runner.val_loop.run()
                if cut:
                    break
            self.runner.call_hook('after_train')
            return self.runner.model

        def run_epoch(self) -> None:
            """One epoch, or its part before the cap."""
            self.runner.call_hook('before_train_epoch')
            self.runner.model.train()
            for idx, data_batch in enumerate(self.dataloader):
                self.run_iter(idx, data_batch)
                if self.capped:
                    break
            self.runner.call_hook('after_train_epoch')
            self._epoch += 1

    LOOPS.register_module(name='GpuAcceptanceTrainLoop', force=True,
                          module=CappedEpochBasedTrainLoop)

    class FullRunProbe(Hook):
        """What ``--full`` reports of one run, read from the built runner.

        Before training it records the built model's data preprocessor,
        its views and the train dataset's pipeline, and counts the data
        preprocessor's training calls. It times ``timed`` iterations after
        ``warmup`` ones (wall clock between the ends of two iterations, so
        data loading included, validation left out, CUDA synchronised at
        both ends), prints the estimate of the whole schedule's training
        time (step time x the schedule's iterations) and, when the run
        would end past ``deadline``, cuts it there. It keeps the last
        validation's metrics, the training time and samples/s.

        Args:
            name (str): The run's name (in the printed lines).
            warmup (int): Iterations before the timed ones.
            timed (int): Iterations timed.
            deadline (float, optional): ``time.time()`` past which the run
                must not end. Defaults to None (no limit).
            on_estimate (callable, optional): Called with the record once
                the estimate is made (the JSON then holds it even if the
                run is killed later). Defaults to None.
        """

        priority = 'LOWEST'

        def __init__(self, name: str, warmup: int, timed: int,
                     deadline: Optional[float] = None,
                     on_estimate: Optional[Callable[[dict], None]] = None
                     ) -> None:
            self.name = name
            self.on_estimate = on_estimate
            self.warmup = warmup
            self.timed = timed
            self.deadline = deadline
            self.record: dict = dict(preprocessor_train_calls=0, val_s=0.,
                                     val_runs=0)
            self._t_window: Optional[float] = None
            self._val_window = 0.

        def _sync(self, runner) -> None:
            if self._cuda:
                torch.cuda.synchronize()

        def _count_call(self, module, args, kwargs=None) -> None:
            training = (kwargs or {}).get(
                'training', args[1] if len(args) > 1 else False)
            if training:
                self.record['preprocessor_train_calls'] += 1

        def before_train(self, runner) -> None:
            model = (runner.model.module if is_model_wrapper(runner.model)
                     else runner.model)
            pre = model.data_preprocessor
            self._cuda = next(model.parameters()).is_cuda
            try:
                pre.register_forward_pre_hook(self._count_call,
                                              with_kwargs=True)
            except TypeError:  # torch < 2.0: positional arguments only
                pre.register_forward_pre_hook(self._count_call)
            loop = runner.train_loop
            dataset = loop.dataloader.dataset
            pipeline = getattr(dataset, 'pipeline', None)
            self.record.update(
                data_preprocessor=type(pre).__name__,
                views=[[type(op).__name__ for op in view]
                       for view in getattr(pre, 'views', [])],
                train_pipeline=[type(t).__name__ for t in getattr(
                    pipeline, 'transforms', [])],
                device=str(next(model.parameters()).device),
                batch_size=loop.dataloader.batch_size,
                max_epochs=loop.max_epochs,
                iters_per_epoch=len(loop.dataloader),
                total_iters=loop.max_iters,
                warmup_iters=self.warmup, timed_iters=self.timed)
            self._t_train = time.perf_counter()

        def after_train_iter(self, runner, batch_idx: int,
                             data_batch=None, outputs=None) -> None:
            done = runner.iter + 1  # iterations finished
            if done == self.warmup:
                self._sync(runner)
                self._t_window = time.perf_counter()
                self._val_window = self.record['val_s']
            elif done == self.warmup + self.timed:
                self._sync(runner)
                window = (time.perf_counter() - self._t_window -
                          (self.record['val_s'] - self._val_window))
                self._estimate(runner, window / self.timed)

        def _estimate(self, runner, step_s: float) -> None:
            rec = self.record
            estimate = step_s * rec['total_iters']
            rec.update(step_s=step_s, estimate_s=estimate,
                       timed_samples_per_s=rec['batch_size'] / step_s)
            log(f'estimate {self.name}: {step_s * 1e3:.3f} ms/step (mean '
                f'of {self.timed} steps after {self.warmup} warm-up) x '
                f'{rec["total_iters"]} steps ({rec["max_epochs"]} epochs x '
                f'{rec["iters_per_epoch"]}) = {estimate:.1f} s '
                f'({estimate / 60:.1f} min) of training, validation not '
                'included')
            if self.on_estimate is not None:
                self.on_estimate(dict(rec))
            if self.deadline is None:
                return
            loop = runner.train_loop
            left = rec['total_iters'] - (runner.iter + 1)
            if loop.max_train_iters is not None:
                left = min(left, loop.max_train_iters - (runner.iter + 1))
            end = time.time() + step_s * left
            if end > self.deadline:
                rec['cut_by_time_budget'] = (
                    f'the remaining {left} steps would end '
                    f'{end - self.deadline:.0f} s past --time-budget; '
                    f'stopped after {runner.iter + 1}')
                log(f'{self.name}: {rec["cut_by_time_budget"]}')
                loop.max_train_iters = runner.iter + 1

        def before_val(self, runner) -> None:
            self._t_val = time.perf_counter()

        def after_val(self, runner) -> None:
            self.record['val_s'] += time.perf_counter() - self._t_val
            self.record['val_runs'] += 1

        def after_val_epoch(self, runner, metrics=None) -> None:
            self.record['metrics'] = dict(metrics or {})

        def after_train(self, runner) -> None:
            rec = self.record
            rec['iters_run'] = runner.iter
            rec['train_loop_s'] = time.perf_counter() - self._t_train
            train_s = rec['train_loop_s'] - rec['val_s']
            rec['train_samples_per_s'] = (rec['iters_run'] *
                                          rec['batch_size'] / train_s
                                          if train_s > 0 else None)

    _FULL_CLASSES = (CappedEpochBasedTrainLoop, FullRunProbe)
    return _FULL_CLASSES


def write_full_config(path: str, method: str, args, data_root: str) -> str:
    """Write the config of one ``--full`` run: the method's batchaug
    config with the bundle's data, the workers, seed 0, sparse
    checkpoints and the capped loop (the schedule unchanged).

    Args:
        path (str): The config file to write.
        method (str): A key of :data:`FULL_CONFIGS`.
        args (Namespace): The ``run`` arguments.
        data_root (str): Folder holding ``cifar-10-batches-py``.

    Returns:
        str: ``path``.
    """
    from mmengine.config import Config
    base = osp.join(ROOT, FULL_CONFIGS[method])
    train_cfg = Config.fromfile(base, import_custom_modules=False).train_cfg
    if not train_cfg.get('by_epoch', True) or 'max_epochs' not in train_cfg:
        raise ValueError(f'{base}: --full needs an epoch-based train_cfg, '
                         f'but got {train_cfg}')
    epochs, val_interval = train_cfg.max_epochs, train_cfg.get(
        'val_interval', 1)
    data = f'data_root={data_root!r}, check_md5=False'
    train_data, val_data = data, data
    if args.train_per_class:
        train_data += f', max_per_class={args.train_per_class}'
    if args.test_per_class:
        val_data += f', max_per_class={args.test_per_class}'
    batch = (f'batch_size={args.batch_size}, ' if args.batch_size else '')
    loader = (f'num_workers={args.workers}, '
              f'persistent_workers={args.workers > 0}')
    lines = [
        f'_base_ = [{base!r}]',
        f'train_dataloader = dict({batch}{loader}, '
        f'dataset=dict({train_data}))',
        f'val_dataloader = dict({batch}{loader}, dataset=dict({val_data}))',
        'test_dataloader = val_dataloader',
        'randomness = dict(seed=0, deterministic=False)',
        'default_hooks = dict(logger=dict(interval='
        f'{args.full_log_interval}), checkpoint=dict(interval='
        f'{max(1, epochs // 4)}, max_keep_ckpts=1))',
        f'train_cfg = dict(_delete_=True, type=\'GpuAcceptanceTrainLoop\', '
        f'max_epochs={epochs}, val_interval={val_interval}, '
        f'max_train_iters={args.full_iters})',
    ]
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def _train_tool():
    """``tools/train.py`` as a module (its ``parse_args`` / ``merge_args``
    give the runs the command line's exact config handling)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'ltplug_tools_train', osp.join(ROOT, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _finite(value) -> Optional[float]:
    """``value`` as a float, None for a missing or non-finite one (JSON)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def full_run(method: str, args, data_root: str, deadline: Optional[float],
             on_estimate: Optional[Callable[[dict], None]] = None) -> dict:
    """Train one ``--full`` run in this process and return its record.

    Args:
        method (str): A key of :data:`FULL_CONFIGS`.
        args (Namespace): The ``run`` arguments.
        data_root (str): Folder holding ``cifar-10-batches-py``.
        deadline (float, optional): ``time.time()`` past which the run is
            cut (:class:`FullRunProbe`). None: no limit.
        on_estimate (callable, optional): Called with the partial record
            once the step-time estimate is made. Defaults to None.

    Returns:
        dict: the probe's record (data preprocessor, views, pipeline,
        step time, estimate, iterations, samples/s), ``top1`` / ``many`` /
        ``medium`` / ``few`` (standard shot rule), ``groups_1500_200``,
        ``top1_single`` (NCL), ``published``, ``wall_s``, ``config``,
        ``dumped_config`` and ``work_dir``.
    """
    import gc

    import torch
    from mmengine.config import Config
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    _, probe_cls = full_classes()
    tool = _train_tool()
    work = osp.join(args.work_dir, 'full', method)
    shutil.rmtree(work, ignore_errors=True)
    cfg_path = write_full_config(
        osp.join(args.work_dir, 'full', 'configs', f'{method}.py'), method,
        args, data_root)
    t0 = time.time()
    cfg = tool.merge_args(Config.fromfile(cfg_path),
                          tool.parse_args([cfg_path, '--work-dir', work]))
    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    probe = probe_cls(method, args.full_warmup_iters, args.full_timed_iters,
                      deadline, on_estimate)
    runner.register_hook(probe)
    try:
        runner.train()
    finally:
        del runner
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    rec = dict(probe.record)
    rec.update(config=FULL_CONFIGS[method], work_dir=work,
               wall_s=round(time.time() - t0, 1),
               published=FULL_PUBLISHED[method])
    dumped = glob.glob(osp.join(work, '*.py'))
    rec['dumped_config'] = dumped[0] if dumped else None
    metrics = rec.pop('metrics', {})
    rec['metrics'] = {k: _finite(v) if isinstance(v, (int, float)) else v
                      for k, v in metrics.items()}
    for key in ('top1', 'many', 'medium', 'few'):
        rec[key] = _finite(metrics.get(f'shot/{key}'))
    if method == 'ncl':
        rec['top1_single'] = _finite(metrics.get('expert/best_single_top1'))
    try:
        groups = accuracy.regroup(accuracy._last_per_class(work),
                                  *FULL_GROUP_THRESHOLDS)
        rec['groups_1500_200'] = {k: _finite(v) if k != 'sizes' else v
                                  for k, v in groups.items()}
    except RuntimeError:  # no per-class file (no log folder)
        rec['groups_1500_200'] = None
    for key in ('step_s', 'estimate_s', 'timed_samples_per_s',
                'train_samples_per_s', 'train_loop_s', 'val_s'):
        if rec.get(key) is not None:
            rec[key] = round(rec[key], 6 if key == 'step_s' else 2)
    return rec


def full_failures(method: str, rec: dict) -> List[str]:
    """What makes one ``--full`` run fail the acceptance.

    Args:
        method (str): The run's method.
        rec (dict): Its record (:func:`full_run`, or ``{'error': ...}``).

    Returns:
        list[str]: One line per failure, empty when the run passed.
    """
    if 'error' in rec:
        return [f'full/{method}: {rec["error"]}'[:300]]
    out = []
    if rec.get('data_preprocessor') != 'BatchAugDataPreprocessor':
        out.append(f'full/{method}: the built model\'s data preprocessor is '
                   f'{rec.get("data_preprocessor")!r}, not '
                   'BatchAugDataPreprocessor')
    if rec.get('train_pipeline') != ['PackInputs']:
        out.append(f'full/{method}: train pipeline '
                   f'{rec.get("train_pipeline")}, expected [PackInputs]')
    if rec.get('preprocessor_train_calls') != rec.get('iters_run'):
        out.append(f'full/{method}: the data preprocessor augmented '
                   f'{rec.get("preprocessor_train_calls")} batches in '
                   f'{rec.get("iters_run")} iterations')
    if rec.get('estimate_s') is None:
        out.append(f'full/{method}: no step-time estimate (fewer than '
                   'warm-up + timed iterations ran)')
    if rec.get('top1') is None:
        out.append(f'full/{method}: no finite top-1 '
                   f'({rec.get("metrics")})')
    if rec.get('cut_by_time_budget'):
        out.append(f'full/{method}: {rec["cut_by_time_budget"]}')
    return out


def _cell(value, digits: int = 2) -> str:
    if value is None:
        return '-'
    if isinstance(value, float):
        return f'{value:.{digits}f}'
    return str(value)


def full_table(runs: Dict[str, dict]) -> str:
    """Markdown table of the ``--full`` runs next to the published
    figures (``-``: none published, or not measured)."""
    head = ('| method | top-1 | many | medium | few | published top-1 | '
            'published many / medium / few | steps run / schedule | '
            'estimate (s) | wall (s) | train samples/s |')
    lines = [head, '|---' * 11 + '|']
    for method, rec in runs.items():
        pub = rec.get('published') or FULL_PUBLISHED[method]
        top1 = _cell(rec.get('top1'))
        pub_top1 = _cell(pub['top1'], 1)
        if method == 'ncl':
            top1 += f' (single {_cell(rec.get("top1_single"))})'
            pub_top1 += f' (single {_cell(pub["top1_single"], 1)})'
        pub_groups = ' / '.join(_cell(pub[k], 1)
                                for k in ('many', 'medium', 'few'))
        lines.append(
            f'| {method} | {top1} | {_cell(rec.get("many"))} | '
            f'{_cell(rec.get("medium"))} | {_cell(rec.get("few"))} | '
            f'{pub_top1} | {pub_groups} | {_cell(rec.get("iters_run"))} / '
            f'{_cell(rec.get("total_iters"))} | '
            f'{_cell(rec.get("estimate_s"), 1)} | '
            f'{_cell(rec.get("wall_s"), 1)} | '
            f'{_cell(rec.get("train_samples_per_s"), 1)} |')
    lines.append('')
    lines.append('many / medium / few: the standard rule (> 100, 20-100, '
                 '< 20 training images: 8 / 2 / 0 classes on CIFAR-10-LT '
                 'r100, so few is empty); groups_1500_200 in the JSON gives '
                 '3 / 4 / 3 classes. Test set: the bundle\'s, not the full '
                 '10,000 images.')
    return '\n'.join(lines)


def run_full(args) -> int:
    """``run --full``: CE, Balanced Softmax and NCL at their configs' full
    schedules with the batched augmentation (``configs/batchaug/``), each
    with a step-time estimate of its whole schedule printed after the
    warm-up, then a table of the results next to the published figures
    and one JSON (``--out``, rewritten after every run).

    Returns:
        int: 0 when every run passed (:func:`full_failures`), else 1.
    """
    t_start = time.time()
    out_path = args.out or osp.join(args.work_dir, 'acceptance.json')
    os.makedirs(args.work_dir, exist_ok=True)
    if args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    import torch
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda but torch sees no CUDA device '
                         '(use --device cpu for the CPU smoke run)')
    full_classes()
    mini = osp.join(args.bundle, MINI_NAME)
    if not osp.isfile(mini):
        raise SystemExit(f'{mini} not found: run "gpu_acceptance.py prepare '
                         f'--bundle {args.bundle}" where ../shared exists')
    data_root = write_cifar_batches(mini, osp.join(args.work_dir, 'cifar10'))
    deadline = (None if args.time_budget is None else t_start +
                args.time_budget)
    result: dict = dict(
        mode='full',
        device=(torch.cuda.get_device_name(0)
                if args.device == 'cuda' else 'cpu'),
        torch=torch.__version__, full_iters=args.full_iters,
        time_budget=args.time_budget,
        train_images=train_size(args.train_per_class),
        test_images=int(np.minimum(
            np.bincount(np.load(mini)['test_labels']),
            args.test_per_class or np.inf).sum()),
        runs={}, failures=[])

    def save():
        result['wall_s'] = round(time.time() - t_start, 1)
        with open(out_path, 'w') as f:
            json.dump(result, f, indent=2)

    log(f'--full: {", ".join(args.full_methods)} at their configs\' '
        f'schedules, batched augmentation, '
        f'{result["train_images"]} training images'
        + (f', at most {args.full_iters} steps each (--full-iters)'
           if args.full_iters else ''))
    save()
    for method in args.full_methods:
        log(f'full {method}: {FULL_CONFIGS[method]}')

        def running(partial: dict, method: str = method) -> None:
            result['runs'][method] = dict(
                partial, status='running', config=FULL_CONFIGS[method],
                published=FULL_PUBLISHED[method])
            save()

        try:
            rec = full_run(method, args, data_root, deadline, running)
        except Exception as e:  # noqa: BLE001 (reported, run goes on)
            rec = dict(error=f'{type(e).__name__}: {e}'[-2000:])
        fails = full_failures(method, rec)
        rec['status'] = 'failed' if fails else 'passed'
        result['runs'][method] = rec
        result['failures'] += fails
        if 'error' not in rec:
            log(f'full {method}: top-1 {_cell(rec["top1"])} (published '
                f'{rec["published"]["top1"]}), {rec["iters_run"]} / '
                f'{rec["total_iters"]} steps, {rec["wall_s"]:.0f} s wall, '
                f'estimate {_cell(rec.get("estimate_s"), 1)} s, '
                f'{_cell(rec.get("train_samples_per_s"), 1)} samples/s')
        save()
    result['table'] = full_table(result['runs'])
    save()
    print(result['table'], flush=True)
    print(json.dumps(result, indent=2), flush=True)
    log(f'{len(result["failures"])} failure(s), {result["wall_s"]:.0f} s')
    return 1 if result['failures'] else 0


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
    run.add_argument('--time-budget', type=float, default=None,
                     help='seconds; later steps are skipped past it '
                     '(default 460; with --full none, else a run whose '
                     'estimate ends past it is cut there and fails)')
    full = run.add_argument_group(
        'full schedules', 'CE, Balanced Softmax and NCL at their configs\' '
        'schedules with the batched augmentation (configs/batchaug/), '
        'instead of the short steps above')
    full.add_argument('--full', action='store_true',
                      help='run the full schedules')
    full.add_argument('--full-methods', nargs='+', default=list(FULL_CONFIGS),
                      choices=list(FULL_CONFIGS))
    full.add_argument('--full-iters', type=int, default=None,
                      help='train at most N steps per run (the schedule '
                      'stays the config\'s; CPU smoke runs)')
    full.add_argument('--full-warmup-iters', type=int, default=20,
                      help='steps before the timed ones')
    full.add_argument('--full-timed-iters', type=int, default=50,
                      help='steps timed for the estimate')
    full.add_argument('--full-log-interval', type=int, default=100)
    args = parser.parse_args(argv)
    if args.mode != 'run':
        return args
    if args.iters < 1:
        parser.error(f'--iters must be >= 1, but got {args.iters}')
    if args.full_warmup_iters < 1 or args.full_timed_iters < 1:
        parser.error('--full-warmup-iters and --full-timed-iters must be '
                     f'>= 1, but got {args.full_warmup_iters} and '
                     f'{args.full_timed_iters}')
    if args.full_log_interval < 1:
        parser.error('--full-log-interval must be >= 1, but got '
                     f'{args.full_log_interval}')
    timed = args.full_warmup_iters + args.full_timed_iters
    if args.full_iters is not None and args.full_iters < timed:
        parser.error(f'--full-iters {args.full_iters} must be at least '
                     f'--full-warmup-iters + --full-timed-iters '
                     f'({args.full_warmup_iters} + {args.full_timed_iters} '
                     f'= {timed}): the estimate needs them')
    if args.time_budget is None and not args.full:
        args.time_budget = 460.
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
    if args.mode == 'prepare':
        return prepare(args)
    return run_full(args) if args.full else run(args)


if __name__ == '__main__':
    sys.exit(main())
