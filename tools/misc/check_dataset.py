# Copyright (c) ltplug contributors. All rights reserved.
"""Pre-flight check of one split of a config's data, before a long run.

::

    python tools/misc/check_dataset.py CONFIG --split train [--workers 8] \\
        [--cfg-options train_dataloader.dataset.data_root=/data/imagenet]

The split's dataset is built from the config exactly as the Runner builds
it (through the registry; wrappers such as ``LongTailSubset``,
``RepeatDataset``, ``ClassBalancedDataset`` or ``ConcatDataset`` are looked
through to the datasets holding the images). Then:

* every image file of the split is opened and fully decoded once, in
  parallel, with a progress bar (``tools/misc/verify_images.py``'s
  ``check_image``: Pillow's strict decoder plus OpenCV); each missing,
  empty, truncated or undecodable file is printed as
  ``LIST:LINE: path: reason`` (list datasets such as ``LTListDataset``,
  ``ImageNetLT``, ``PlacesLT``, ``INaturalist2018``) or
  ``Dataset[index]: path: reason`` (datasets without list lines). In-memory
  datasets (CIFAR-LT, Fashion-MNIST) have no image files: only their counts
  are checked;
* the class counts the dataset exposes (``metainfo['class_counts']``, the
  training counts that losses, samplers and ``ShotAccuracy`` use) are
  compared with the labels: for the train split, with the labels of its
  images counted in the list file itself (and a class with no training
  image is an error); for a val / test split, with the labels of the
  config's train split (its ``class_counts`` must be the training counts).

A summary follows (images checked, bad images, classes, min / max count).
The exit status is 0 when everything is right, 1 when an image is bad, the
counts disagree, a train class is empty or the dataset cannot be built, and
2 for a usage error (no such split in the config). It is the one-time
alternative to ``LoadImageFromFileChecked``'s double decoding at every
epoch. Images are read from the local file system.
"""
import argparse
import copy
import os
import os.path as osp
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(osp.dirname(HERE)))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from verify_images import verify_items  # noqa: E402

__all__ = [
    'build_split', 'leaf_selections', 'split_items', 'check_counts', 'main'
]

SPLITS = ('train', 'val', 'test')
SHOW_CLASSES = 10  # differing classes named in a count error


class UsageError(ValueError):
    """A config / split problem (exit status 2), not a data problem."""


def _no_file_checks(cfg: Any) -> Any:
    """A copy of a dataset config with ``check_files`` turned off
    everywhere (the decoding below names every missing file, not only the
    first five)."""
    if isinstance(cfg, dict):
        out = type(cfg)()
        for k, v in cfg.items():
            out[k] = False if k == 'check_files' else _no_file_checks(v)
        return out
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(_no_file_checks(v) for v in cfg)
    return cfg


def build_split(cfg: Any, split: str) -> Any:
    """Build the dataset of ``cfg['<split>_dataloader']``.

    Args:
        cfg (mmengine.Config): The loaded config (custom imports done).
        split (str): ``'train'``, ``'val'`` or ``'test'``.

    Returns:
        Dataset: The built (fully initialised) dataset.

    Raises:
        UsageError: If the config has no such dataloader / dataset.
    """
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS
    if split not in SPLITS:
        raise UsageError(f'split must be one of {SPLITS}, but got {split!r}')
    key = f'{split}_dataloader'
    loader = cfg.get(key)
    if not loader or not loader.get('dataset'):
        raise UsageError(f'the config has no {key}.dataset (got {loader!r})')
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    dataset = DATASETS.build(_no_file_checks(copy.deepcopy(
        loader['dataset'])))
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    return dataset


def leaf_selections(dataset: Any,
                    sel: Optional[np.ndarray] = None
                    ) -> List[Tuple[Any, np.ndarray]]:
    """The datasets holding the images of ``dataset``, and which of theirs.

    Wrappers are looked through: ``LongTailSubset`` (``indices``),
    MMEngine's ``ConcatDataset`` / ``RepeatDataset`` /
    ``ClassBalancedDataset`` (``_get_ori_dataset_idx``). A repeated image is
    listed once.

    Args:
        dataset: A built dataset.
        sel (np.ndarray, optional): Indices of ``dataset`` to follow.
            Defaults to None (all).

    Returns:
        list[tuple[Dataset, np.ndarray]]: Each innermost dataset with the
        sorted unique indices of its images that ``dataset`` uses.
    """
    if sel is None:
        sel = np.arange(len(dataset), dtype=np.int64)
    subs = getattr(dataset, 'datasets', None)
    if isinstance(subs, (list, tuple)) and hasattr(dataset,
                                                   '_get_ori_dataset_idx'):
        per: Dict[int, List[int]] = {}
        for i in sel.tolist():
            d, j = dataset._get_ori_dataset_idx(int(i))
            per.setdefault(d, []).append(j)
        out = []
        for d in sorted(per):
            out += leaf_selections(subs[d], np.unique(np.asarray(per[d])))
        return out
    inner = getattr(dataset, 'dataset', None)
    if inner is not None and hasattr(dataset, 'indices') and \
            not hasattr(dataset, '_get_ori_dataset_idx'):
        idx = np.asarray(dataset.indices, dtype=np.int64)[sel]  # subset
        return leaf_selections(inner, np.unique(idx))
    if inner is not None and hasattr(dataset, '_get_ori_dataset_idx'):
        idx = [dataset._get_ori_dataset_idx(int(i)) for i in sel.tolist()]
        return leaf_selections(inner, np.unique(np.asarray(idx,
                                                           np.int64)))
    return [(dataset, np.unique(sel))]


class Record:
    """One image of a split: where it is listed, its file, its label."""

    __slots__ = ('where', 'path', 'label', 'list_file', 'line')

    def __init__(self, where: str, path: Optional[str], label: int,
                 list_file: Optional[str], line: Optional[int]) -> None:
        self.where = where
        self.path = path
        self.label = label
        self.list_file = list_file
        self.line = line


def split_items(dataset: Any) -> Tuple[List[Record], List[str]]:
    """Every image of ``dataset``, with its list line and label.

    Args:
        dataset: A built dataset.

    Returns:
        tuple[list[Record], list[str]]: The images (``path`` is None for
        an in-memory image) and a description of each innermost dataset.
    """
    from ltplug.datasets.lt_list_dataset import LINE_KEY
    records: List[Record] = []
    described = []
    for leaf, sel in leaf_selections(dataset):
        name = type(leaf).__name__
        ann_file = getattr(leaf, 'ann_file', None) or None
        kinds = set()
        for i in sel.tolist():
            info = leaf.get_data_info(int(i))
            label = int(np.asarray(info.get('gt_label', -1)).reshape(-1)[0])
            path = info.get('img_path')
            line = info.get(LINE_KEY)
            if path is None:
                kinds.add('in memory')
            else:
                kinds.add('files')
            where = (f'{ann_file}:{line}' if ann_file and line is not None
                     else f'{name}[{i}]')
            records.append(
                Record(where, path, label,
                       ann_file if line is not None else None, line))
        what = ' and '.join(sorted(kinds)) or 'empty'
        src = f', list {ann_file}' if ann_file else ''
        described.append(f'{name} ({sel.size} images, {what}{src})')
    return records, described


def list_counts(records: Sequence[Record], num_classes: int) -> np.ndarray:
    """Per-class counts of ``records``' labels, taken from the list files
    themselves where the images have list lines (an independent reading of
    each list), else from the dataset's labels."""
    from ltplug.datasets.list_file import parse_list_file
    by_line: Dict[str, Dict[int, int]] = {}
    labels = []
    for r in records:
        if r.list_file is None:
            labels.append(r.label)
            continue
        if r.list_file not in by_line:
            _, lab, nos = parse_list_file(r.list_file)
            by_line[r.list_file] = dict(zip(nos, lab.tolist()))
        labels.append(by_line[r.list_file][r.line])
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and labels.max() >= num_classes:
        num_classes = int(labels.max()) + 1
    return np.bincount(labels, minlength=num_classes).astype(np.int64)


def _num_classes(dataset: Any, exposed: Optional[np.ndarray],
                 records: Sequence[Record]) -> int:
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    if classes:
        return len(classes)
    seen = dataset
    while seen is not None:
        n = getattr(seen, 'num_classes', None)
        if isinstance(n, int) and n > 0:
            return n
        seen = getattr(seen, 'dataset', None)
    if exposed is not None:
        return int(exposed.size)
    return max((r.label for r in records), default=-1) + 1


def _exposed_counts(dataset: Any) -> Optional[np.ndarray]:
    from ltplug.datasets.utils import get_class_counts
    try:
        return get_class_counts(dataset)
    except ValueError:
        return None


def check_counts(exposed: np.ndarray, reference: np.ndarray,
                 what: str) -> Optional[str]:
    """Why ``exposed`` counts differ from ``reference``, or None.

    Args:
        exposed (np.ndarray): ``metainfo['class_counts']`` of the split.
        reference (np.ndarray): The counts of the labels.
        what (str): What ``reference`` is, for the message.

    Returns:
        str | None: The error message (naming the differing classes and
        both values), None when they agree.
    """
    if exposed.size != reference.size:
        return (f"metainfo['class_counts'] has {exposed.size} classes but "
                f'{what} has {reference.size}: exposed '
                f'{exposed.tolist()}, counted {reference.tolist()}')
    diff = np.flatnonzero(exposed != reference)
    if not diff.size:
        return None
    shown = ', '.join(f'class {c}: {int(exposed[c])} vs {int(reference[c])}'
                      for c in diff[:SHOW_CLASSES])
    more = ' ...' if diff.size > SHOW_CLASSES else ''
    return (f"metainfo['class_counts'] disagrees with {what} in "
            f'{diff.size} of {exposed.size} classes (exposed vs counted): '
            f'{shown}{more}')


def _empty_classes(counts: np.ndarray) -> str:
    empty = np.flatnonzero(counts == 0)
    first = ' (first 20)' if empty.size > 20 else ''
    return f'{empty.size} class(es){first}: {empty[:20].tolist()}'


def run(cfg: Any, split: str, workers: int, progress: bool,
        config_name: str = 'config') -> int:
    """Check ``split`` of ``cfg``; print the report; return the status.

    Args:
        cfg (mmengine.Config): The loaded config.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        workers (int): Decoding processes (>= 1).
        progress (bool): Show the progress bar.
        config_name (str): The config's name in the report. Defaults to
            'config'.

    Returns:
        int: 0 when all is right, 1 otherwise (2 is raised as
        :class:`UsageError`).
    """
    print(f'building the {split} dataset of {config_name} ...', flush=True)
    try:
        dataset = build_split(cfg, split)
    except UsageError:
        raise
    except Exception as e:  # any build error is a data / config problem
        print(f'error: cannot build the {split} dataset: '
              f'{type(e).__name__}: {e}')
        print('FAILED')
        return 1
    records, described = split_items(dataset)
    print(f'{type(dataset).__name__}: {len(records)} images from '
          + '; '.join(described), flush=True)
    problems = []

    files = [(k, r.path, r.path) for k, r in enumerate(records) if r.path]
    bad = []
    if files:
        print(f'decoding {len(files)} image files with {workers} '
              'worker(s) ...', flush=True)
        bad = verify_items(files, workers, progress)
        for k, path, reason in bad:
            print(f'{records[k].where}: {path}: {reason}')
        if bad:
            problems.append(f'{len(bad)} bad image(s)')
    else:
        print('no image files (an in-memory dataset): only the counts are '
              'checked')

    exposed = _exposed_counts(dataset)
    num_classes = _num_classes(dataset, exposed, records)
    own = list_counts(records, num_classes)
    if split == 'train':
        reference, what = own, 'the labels of this split\'s list'
        if records and not any(r.list_file for r in records):
            what = 'the labels of this split'
    else:
        print('counting the labels of the train split (the training counts) '
              '...', flush=True)
        try:
            train = build_split(cfg, 'train')
            train_records, _ = split_items(train)
            reference = list_counts(train_records, num_classes)
            what = 'the labels of the train split'
        except UsageError:
            reference, what = None, None
            print('note: the config has no train_dataloader; the training '
                  'counts are not compared')
        except Exception as e:
            reference, what = None, None
            problems.append('the train split cannot be built')
            print(f'error: cannot build the train split to compare the '
                  f'training counts: {type(e).__name__}: {e}')
    if exposed is None:
        print(f"note: {type(dataset).__name__} exposes no "
              "metainfo['class_counts'] (not an ltplug long-tailed "
              'dataset); nothing to compare')
    elif reference is not None:
        msg = check_counts(exposed, reference, what)
        if msg:
            print(f'class counts: {msg}')
            problems.append('class counts disagree')
        else:
            print(f"class counts: metainfo['class_counts'] matches {what}")
    train_counts = reference if split == 'train' else (
        exposed if exposed is not None else reference)
    if split == 'train' and (own == 0).any():
        print(f'class counts: no training image in {_empty_classes(own)}')
        problems.append('empty train class')
    elif split != 'train' and own.size and (own == 0).any():
        print(f'note: no {split} image in {_empty_classes(own)} (left out '
              'of the per-group means)')

    line = (f'summary: {len(files)} image files checked, {len(bad)} bad; '
            f'{num_classes} classes')
    if train_counts is not None and train_counts.size:
        line += (f'; training counts min {int(train_counts.min())} / max '
                 f'{int(train_counts.max())}')
    if split != 'train' and own.size:
        line += (f'; {split} images per class min {int(own.min())} / max '
                 f'{int(own.max())}')
    print(line)
    print('FAILED: ' + ', '.join(problems) if problems else 'OK')
    return 1 if problems else 0


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Decode every image of a config split and check its '
        'class counts')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--split', choices=SPLITS, default='train',
        help='which dataloader to check (default: train)')
    parser.add_argument(
        '--workers',
        type=int,
        default=min(8, os.cpu_count() or 1),
        help='decoding processes (default: min(8, CPUs))')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (merged last)')
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f'--workers must be >= 1, but got {args.workers}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit status (0 OK, 1 bad data, 2 usage)."""
    from mmengine.config import Config

    import ltplug  # noqa: F401  (registers the datasets)
    args = parse_args(argv)
    if not osp.isfile(args.config):
        print(f'error: config {args.config!r} does not exist')
        return 2
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        return run(cfg, args.split, args.workers, not args.no_progress,
                   args.config)
    except UsageError as e:
        print(f'error: {e}')
        return 2


if __name__ == '__main__':
    sys.exit(main())
