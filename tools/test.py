# Copyright (c) ltplug contributors. All rights reserved.
"""Test a checkpoint with MMEngine's Runner (MMPretrain's CLI, plus ltplug).

A progress bar over the test set is shown on rank 0.
"""
import argparse
import os.path as osp
import sys
from copy import deepcopy

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import ltplug  # noqa: E402,F401  (registers components, installs fixes)
import mmengine  # noqa: E402
from ltplug.utils.cli import (default_work_dir, finish_distributed,  # noqa: E402
                              set_default_dataloader_cfg,
                              set_local_rank)
from mmengine.config import Config, ConfigDict, DictAction  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmengine.evaluator import DumpResults  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments (the same as MMPretrain's tools/test.py)."""
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and results')
    parser.add_argument('--out', help='file to write results to')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help='what --out holds: the metrics, or the predictions (default)')
    parser.add_argument(
        '--amp', action='store_true', help='test with mixed precision')
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help='test even if the checkpoint does not fit the model (keys not '
        'loaded are logged); without it a checkpoint that does not fit '
        'stops with an error')
    parser.add_argument('--no-pin-memory', action='store_true')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation: the config\'s tta_model/tta_pipeline, '
        'or flip TTA')
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
    if args.out is None and args.out_item is not None:
        parser.error('--out-item needs --out')
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge the command-line arguments into the config."""
    cfg.launcher = args.launcher
    cfg.work_dir = default_work_dir(cfg, args.config, args.work_dir)
    if args.allow_partial:
        cfg.allow_partial_load = True
    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg = cfg.get('test_cfg', None) or ConfigDict()
        cfg.test_cfg.fp16 = True
    if args.tta:
        if 'tta_model' not in cfg:
            cfg.tta_model = dict(type='mmpretrain.AverageClsScoreTTA')
        if 'tta_pipeline' not in cfg:
            pipeline = cfg.test_dataloader.dataset.pipeline
            cfg.tta_pipeline = deepcopy(pipeline)
            cfg.tta_pipeline[-1] = dict(
                type='TestTimeAug',
                transforms=[[
                    dict(type='RandomFlip', prob=1.),
                    dict(type='RandomFlip', prob=0.)
                ], [pipeline[-1]]])
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    if not args.no_progress:
        hooks = list(cfg.get('custom_hooks', None) or [])
        hooks.append(dict(type='TestProgressBarHook'))
        cfg.custom_hooks = hooks
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # after --cfg-options, so that e.g. num_workers=0 given there also
    # drops the persistent_workers default
    set_default_dataloader_cfg(
        cfg, ('test_dataloader', ),
        no_pin_memory=args.no_pin_memory,
        persistent_workers=False)
    return cfg


def main(argv=None) -> dict:
    """Entry point; returns the metrics."""
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    if args.out and args.out_item in ('pred', None):
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    metrics = runner.test()
    finish_distributed()
    if args.out and args.out_item == 'metrics':
        mmengine.dump(metrics, args.out)
    return metrics


if __name__ == '__main__':
    main()
