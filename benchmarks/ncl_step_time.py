# Copyright (c) ltplug contributors. All rights reserved.
"""Median training-step time of NCL (E experts) against one CE model.

Both models use the same backbone (ResNet-32 by default), batch and
optimizer (SGD, Nesterov); a step is ``model.train_step`` (preprocessing,
forward, loss, backward, optimizer step) on a fixed random uint8 batch.
The two models are timed in interleaved rounds so that load changes on a
shared machine hit both alike.

Example::

    python benchmarks/ncl_step_time.py --batch-size 128 --steps 20
"""
import argparse
import os.path as osp
import statistics
import sys
import time

import torch
from mmengine.optim import OptimWrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import ltplug  # noqa: E402,F401  (registers the components)


def build_models(num_experts: int, num_classes: int, depth: int):
    backbone = dict(type='CIFARResNet', depth=depth)
    neck = dict(type='GlobalAveragePooling')
    head = dict(type='LinearClsHead', num_classes=num_classes, in_channels=64)
    pre = dict(num_classes=num_classes, mean=[125.3, 123.0, 113.9],
               std=[63.0, 62.1, 66.7])
    single = MODELS.build(
        dict(type='ImageClassifier', backbone=backbone, neck=neck,
             head=dict(head, loss=dict(type='CrossEntropyLoss')),
             data_preprocessor=pre))
    counts = [max(1, int(500 * 0.01**(c / (num_classes - 1))))
              for c in range(num_classes)]
    ncl = MODELS.build(
        dict(type='NCLMultiExpertClassifier', num_experts=num_experts,
             backbone=backbone, neck=neck, head=head,
             loss=dict(type='NCLLoss', hcm_n=min(30, num_classes),
                       class_counts=counts),
             data_preprocessor=pre))
    return single, ncl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--experts', type=int, default=3)
    parser.add_argument('--classes', type=int, default=100)
    parser.add_argument('--depth', type=int, default=32)
    parser.add_argument('--steps', type=int, default=20,
                        help='timed steps per model (after 3 warm-up)')
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    single, ncl = build_models(args.experts, args.classes, args.depth)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    models = {'single-CE': single.to(device), 'NCL': ncl.to(device)}
    data = dict(
        inputs=[torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
                for _ in range(args.batch_size)],
        data_samples=[DataSample().set_gt_label(i % args.classes)
                      for i in range(args.batch_size)])
    optims = {
        k: OptimWrapper(torch.optim.SGD(m.parameters(), lr=0.1,
                                        momentum=0.9, nesterov=True,
                                        weight_decay=2e-4))
        for k, m in models.items()
    }
    times = {k: [] for k in models}
    for step in range(args.steps + 3):
        for name, model in models.items():
            model.train()
            if device == 'cuda':
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model.train_step(data, optims[name])
            if device == 'cuda':
                torch.cuda.synchronize()
            if step >= 3:
                times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f'device={device} threads={torch.get_num_threads()} '
          f'batch={args.batch_size} experts={args.experts} '
          f'ResNet-{args.depth} classes={args.classes} '
          f'steps={args.steps}')
    for k, v in med.items():
        print(f'{k:>10}: median step {v * 1000:.1f} ms')
    print(f'ratio NCL / single-CE = {med["NCL"] / med["single-CE"]:.2f} '
          f'(ideal {args.experts})')


if __name__ == '__main__':
    main()
