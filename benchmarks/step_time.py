# Copyright (c) ltplug contributors. All rights reserved.
"""Median training-step time of each long-tail method against plain CE.

Every model uses the same backbone (CIFAR ResNet-32 by default), batch and
optimizer (SGD momentum 0.9); a step is ``model.train_step`` (preprocessing,
forward, loss, backward, optimizer step) on one fixed random uint8 batch.
All models are timed in interleaved rounds in one process, so that load
changes on a shared machine hit every method alike, and ratios are taken
from that one run.

Each method also gets a *floor*: what it must cost at least, built from
figures measured in the same run: ``t_step`` (the CE training step),
``t_fwd`` (one no-gradient forward of the same network in eval mode, as
CBD's teachers run) and ``t_fwd_bn`` (the same in train mode, i.e. with
batch statistics, as MoCo key encoders and SSD's official teacher run):

========================  ==============================================
method                    floor
========================  ==============================================
CBD, K teachers           ``t_step + K * t_fwd``
SSD stage 1 (MoCo)        ``t_step + t_fwd_bn`` (the key view's encoder)
SSD stage 3 (distill)     ``t_step + t_fwd_bn`` (the teacher, BN in train
                          mode as in the official code)
NCL, E experts            ``E * t_step``
NCL, E experts + MoCo     ``E * (t_step + t_fwd_bn)``
========================  ==============================================

A method whose time is more than ``--tolerance`` (10%) above its floor is
reported under ``"over_floor"`` and makes the script exit with status 1
when ``--strict`` is given.

``"minor_faults"`` is the median number of minor page faults per step of
every model (where the platform reports them): on CPU, a step whose peak
memory exceeds what the C allocator kept from the previous steps faults
that memory in again (glibc returns freed memory at the top of its heap
to the system beyond ``M_TRIM_THRESHOLD``), which costs time that is
neither computation nor Python overhead. The models share one heap, so
the largest-peak models (NCL holds the graphs of its ``E`` experts at
once) are the ones that pay it.

Example::

    python benchmarks/step_time.py --batch-size 128 --steps 20 --threads 2
    python benchmarks/step_time.py --tiny          # a few seconds, for CI

Prints one JSON object.
"""
import argparse
import logging
import json
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

try:
    import resource
except ImportError:  # not on Windows
    resource = None

import torch
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import ltplug  # noqa: E402,F401  (registers the components)

MEAN = [125.3, 123.0, 113.9]
STD = [63.0, 62.1, 66.7]


def _counts(num_classes: int) -> List[int]:
    return [max(1, int(500 * 0.01**(c / max(num_classes - 1, 1))))
            for c in range(num_classes)]


class Builder:
    """Builds every benchmarked model with one backbone and class count.

    Args:
        depth (int): CIFAR ResNet depth.
        num_classes (int): Number of classes.
        workdir (str): Folder for the teacher checkpoints it writes.
        shortcut (str): ``CIFARResNet``'s shortcut, ``'A'`` (zero-pad, the
            configs') or ``'B'`` (1x1 conv + BN). Defaults to ``'A'``.
    """

    def __init__(self, depth: int, num_classes: int, workdir: str,
                 shortcut: str = 'A') -> None:
        self.depth = depth
        self.num_classes = num_classes
        self.workdir = workdir
        self.width = 64  # CIFAR ResNet's last stage
        self.backbone = dict(type='CIFARResNet', depth=depth,
                             shortcut=shortcut)
        self.pre = dict(num_classes=num_classes, mean=MEAN, std=STD)

    def ce(self) -> torch.nn.Module:
        return MODELS.build(
            dict(type='ImageClassifier', backbone=self.backbone,
                 neck=dict(type='GlobalAveragePooling'),
                 head=dict(type='LinearClsHead',
                           num_classes=self.num_classes,
                           in_channels=self.width),
                 data_preprocessor=self.pre))

    def ncl(self, experts: int = 3, moco: bool = False) -> torch.nn.Module:
        cfg = dict(
            type='NCLMultiExpertClassifier', num_experts=experts,
            backbone=self.backbone, neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=self.num_classes,
                      in_channels=self.width),
            loss=dict(type='NCLLoss',
                      hcm_n=max(2, min(30, self.num_classes)),
                      class_counts=_counts(self.num_classes)),
            data_preprocessor=self.pre)
        if moco:
            cfg['moco'] = dict(queue_size=1024, dim=64)
            cfg['data_preprocessor'] = dict(
                type='SelfSupDataPreprocessor', mean=MEAN, std=STD)
        return MODELS.build(cfg)

    def _teacher(self, index: int) -> dict:
        """A CBD stage-1 teacher (cosine head) saved to a checkpoint."""
        cfg = dict(
            type='ImageClassifier', backbone=self.backbone,
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='CosineClsHead', num_classes=self.num_classes,
                      in_channels=self.width),
            data_preprocessor=self.pre)
        path = osp.join(self.workdir, f'teacher{index}.pth')
        if not osp.exists(path):
            torch.manual_seed(index)
            model = MODELS.build(cfg)
            model.init_weights()
            torch.save(dict(state_dict=model.state_dict(), meta={}), path)
        return dict(config=cfg, checkpoint=path, name=f'teacher{index}')

    def cbd(self, teachers: int) -> torch.nn.Module:
        return MODELS.build(
            dict(type='CBDDistiller', backbone=self.backbone,
                 neck=dict(type='LinearNeck', in_channels=self.width,
                           out_channels=self.width * teachers, gap_dim=2,
                           norm_cfg=None, act_cfg=dict(type='ReLU')),
                 head=dict(type='CosineClsHead',
                           num_classes=self.num_classes,
                           in_channels=self.width * teachers),
                 teachers=[self._teacher(i) for i in range(teachers)],
                 data_preprocessor=self.pre))


    def ssd_stage1(self, batch_size: int) -> torch.nn.Module:
        """SSD stage I: CE on the query view + label-aware MoCo."""
        return MODELS.build(
            dict(type='SSDMoCoClassifier', backbone=self.backbone,
                 neck=dict(type='GlobalAveragePooling'),
                 head=dict(type='LinearClsHead',
                           num_classes=self.num_classes,
                           in_channels=self.width),
                 queue_size=batch_size * 8, feat_dim=self.width,
                 hidden_dim=self.width, proj_dim=128, momentum=0.999,
                 shuffle_bn=True, batch_size=batch_size,
                 contrast_loss=dict(type='LabelAwareMoCoLoss',
                                    temperature=0.2),
                 data_preprocessor=dict(type='SelfSupDataPreprocessor',
                                        mean=MEAN, std=STD)))

    def ssd_stage3(self) -> torch.nn.Module:
        """SSD stage III: student (hard + soft head) + stage-II teacher."""
        stage2 = dict(
            type='SSDLWSClassifier', backbone=self.backbone,
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LWSHead', num_classes=self.num_classes,
                      in_channels=self.width),
            data_preprocessor=self.pre)
        path = osp.join(self.workdir, 'ssd_stage2.pth')
        torch.manual_seed(7)
        model = MODELS.build(stage2)
        torch.save(dict(state_dict=model.state_dict(), meta={}), path)
        return MODELS.build(
            dict(type='SSDDistiller', backbone=self.backbone,
                 neck=dict(type='GlobalAveragePooling'),
                 head=dict(type='LinearClsHead',
                           num_classes=self.num_classes,
                           in_channels=self.width),
                 teacher=dict(config=stage2, checkpoint=path),
                 teacher_bn_mode='train', data_preprocessor=self.pre))


def method_table(builder: Builder, batch_size: int) -> Dict[str, tuple]:
    """``name -> (build function, floor function of (t_step, t_fwd,
    t_fwd_bn),
    batch function of (batch_size, num_classes) or None)``."""
    return {
        'ssd_stage1': (lambda: builder.ssd_stage1(batch_size),
                       lambda s, f, fb: s + fb, make_two_view_batch),
        'ssd_stage3': (builder.ssd_stage3, lambda s, f, fb: s + fb, None),
        'cbd_k1': (lambda: builder.cbd(1), lambda s, f, fb: s + f, None),
        'cbd_k4': (lambda: builder.cbd(4), lambda s, f, fb: s + 4 * f,
                   None),
        'ncl_e3': (lambda: builder.ncl(3), lambda s, f, fb: 3 * s, None),
        'ncl_e3_moco': (lambda: builder.ncl(3, moco=True),
                        lambda s, f, fb: 3 * (s + fb), make_two_view_batch),
    }


def make_batch(batch_size: int, num_classes: int) -> dict:
    """A fixed random uint8 batch of CIFAR-sized images."""
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8,
                            generator=g) for _ in range(batch_size)]
    return dict(
        inputs=inputs,
        data_samples=[DataSample().set_gt_label(i % num_classes)
                      for i in range(batch_size)])


def make_two_view_batch(batch_size: int, num_classes: int) -> dict:
    """Two stacked views of :func:`make_batch`'s images (what
    ``MultiView`` + ``default_collate`` give a ``SelfSupDataPreprocessor``).
    """
    batch = make_batch(batch_size, num_classes)
    view = torch.stack(batch['inputs'])
    batch['inputs'] = [view, torch.flip(view, dims=[3])]
    return batch


def _sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def _minor_faults() -> Optional[int]:
    """Minor page faults of this process so far (None where unknown)."""
    if resource is None:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_methods(
        models: Dict[str, torch.nn.Module], batches: Dict[str, dict],
        steps: int, warmup: int, device: str,
        forward_model: torch.nn.Module, forward_batch: dict
) -> Tuple[Dict[str, float], Dict[str, Optional[float]]]:
    """Median seconds per step of every model, plus ``'forward'`` and
    ``'forward_bn'`` (no-gradient forwards of ``forward_model`` in eval and
    in train mode), interleaved; and the median minor page faults per
    step of each (None where the platform does not count them)."""
    optims = {
        k: OptimWrapper(torch.optim.SGD(
            [p for p in m.parameters() if p.requires_grad], lr=0.01,
            momentum=0.9))
        for k, m in models.items()
    }
    names = list(models) + ['forward', 'forward_bn']
    times: Dict[str, List[float]] = {k: [] for k in names}
    faults: Dict[str, List[int]] = {k: [] for k in names}
    fwd_data = forward_model.data_preprocessor(forward_batch, False)

    def timed(name: str, fn, keep: bool) -> None:
        _sync(device)
        f0, t0 = _minor_faults(), time.perf_counter()
        fn()
        _sync(device)
        t1, f1 = time.perf_counter(), _minor_faults()
        if keep:
            times[name].append(t1 - t0)
            if f0 is not None:
                faults[name].append(f1 - f0)

    def forward() -> None:
        with torch.no_grad():
            forward_model(fwd_data['inputs'], mode='tensor')

    for step in range(steps + warmup):
        keep = step >= warmup
        for name, model in models.items():
            model.train()
            timed(name,
                  lambda: model.train_step(batches[name], optims[name]),
                  keep)
        forward_model.eval()
        timed('forward', forward, keep)
        forward_model.train()
        timed('forward_bn', forward, keep)
    med = {k: statistics.median(v) for k, v in times.items()}
    med_faults = {
        k: statistics.median(v) if v else None
        for k, v in faults.items()
    }
    return med, med_faults


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--classes', type=int, default=100)
    parser.add_argument('--depth', type=int, default=32)
    parser.add_argument('--steps', type=int, default=20,
                        help='timed steps per method (after the warm-up)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--methods', nargs='*', default=None,
                        help='subset of methods (default: all)')
    parser.add_argument('--shortcut', choices=['A', 'B'], default='A',
                        help="CIFARResNet shortcut: 'A' zero-pad (the "
                        "configs'), 'B' 1x1 conv + BN")
    parser.add_argument('--tolerance', type=float, default=0.10)
    parser.add_argument('--strict', action='store_true',
                        help='exit 1 when a method is over its floor')
    parser.add_argument('--tiny', action='store_true',
                        help='ResNet-20, batch 8, 2 steps: a smoke run')
    parser.add_argument('--out', default=None, help='also write the JSON')
    args = parser.parse_args(argv)
    if args.tiny:
        args.depth, args.batch_size, args.steps, args.warmup = 20, 8, 2, 1
        args.classes = min(args.classes, 10)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    torch.manual_seed(0)
    # the models' init reports are not what this script is about
    logger = MMLogger.get_current_instance()
    logger.setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        builder = Builder(args.depth, args.classes, tmp, args.shortcut)
        table = method_table(builder, args.batch_size)
        names = args.methods or list(table)
        unknown = sorted(set(names) - set(table))
        if unknown:
            parser.error(f'unknown methods {unknown}; known: {sorted(table)}')
        models = {'ce': builder.ce().to(device)}
        batches = {'ce': make_batch(args.batch_size, args.classes)}
        for name in names:
            print(f'building {name} ...', file=sys.stderr, flush=True)
            models[name] = table[name][0]().to(device)
            batch_fn = table[name][2] or make_batch
            batches[name] = batch_fn(args.batch_size, args.classes)
        forward_model = builder.ce().to(device)
        print(f'timing {len(models)} models x {args.steps} steps ...',
              file=sys.stderr, flush=True)
        med, faults = time_methods(models, batches, args.steps,
                                   args.warmup, device, forward_model,
                                   batches['ce'])
    t_step, t_fwd, t_bn = med['ce'], med['forward'], med['forward_bn']
    floors = {n: table[n][1](t_step, t_fwd, t_bn) for n in names}
    result = dict(
        device=device if device == 'cpu' else torch.cuda.get_device_name(),
        threads=torch.get_num_threads(),
        batch_size=args.batch_size,
        backbone=f'CIFARResNet-{args.depth}',
        shortcut=args.shortcut,
        num_classes=args.classes,
        steps=args.steps,
        median_ms={k: round(v * 1000, 2) for k, v in med.items()},
        ratio_to_ce={n: round(med[n] / t_step, 3) for n in names},
        floor_ratio_to_ce={n: round(floors[n] / t_step, 3) for n in names},
        ratio_to_floor={n: round(med[n] / floors[n], 3) for n in names},
        minor_faults=faults,
    )
    result['over_floor'] = sorted(
        n for n in names if med[n] > floors[n] * (1 + args.tolerance))
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(text + '\n')
    return 1 if args.strict and result['over_floor'] else 0


if __name__ == '__main__':
    sys.exit(main())
