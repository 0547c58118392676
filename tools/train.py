# Copyright (c) ltplug contributors. All rights reserved.
"""Train a model with MMEngine's Runner (MMPretrain's CLI, plus ltplug)."""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import ltplug  # noqa: E402,F401  (registers components, installs fixes)
from ltplug.utils.cli import (default_work_dir, finish_distributed,  # noqa: E402
                              set_default_dataloader_cfg,
                              set_local_rank)
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments (the same as MMPretrain's tools/train.py)."""
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or with no path from the latest '
        'checkpoint in the work directory')
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the LR by the actual over auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help='load_from may leave keys of the model unloaded (e.g. a backbone-'
        'only checkpoint for fine-tuning); the keys not loaded are logged. '
        'Without it a checkpoint that does not fit stops the run')
    parser.add_argument('--no-pin-memory', action='store_true')
    parser.add_argument('--no-persistent-workers', action='store_true')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (merged last)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    set_local_rank(args.local_rank)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge the command-line arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    cfg.work_dir = default_work_dir(cfg, args.config, args.work_dir)
    if args.allow_partial:
        cfg.allow_partial_load = True
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        if cfg.get('auto_scale_lr', None) is None:
            raise ValueError(f'--auto-scale-lr needs auto_scale_lr.'
                             f'base_batch_size in the config {args.config}')
        cfg.auto_scale_lr.enable = True
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # after --cfg-options, so that e.g. num_workers=0 given there also
    # drops the persistent_workers default
    set_default_dataloader_cfg(
        cfg, ('train_dataloader', 'val_dataloader', 'test_dataloader'),
        no_pin_memory=args.no_pin_memory,
        no_persistent_workers=args.no_persistent_workers)
    return cfg


def main(argv=None) -> None:
    """Entry point."""
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    runner.train()
    finish_distributed()


if __name__ == '__main__':
    main()
