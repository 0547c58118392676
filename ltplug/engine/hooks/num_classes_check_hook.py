# Copyright (c) ltplug contributors. All rights reserved.
"""Check at start that every part of a run agrees on the number of classes.

A head with more classes than the data trains without a word (the extra
logits are never a target); one with fewer dies inside torch
(``IndexError: Target 3 is out of bounds``). :func:`collect_num_classes`
reads every number of classes a run holds, each named by the config key it
comes from, and :func:`check_num_classes` raises one error listing them when
they differ. :class:`NumClassesCheckHook` runs both before training,
validation and testing (:class:`~ltplug.engine.ClassCountsHook`, in every
ltplug config, does too).
"""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from mmpretrain.registry import HOOKS

from ltplug.datasets.utils import CLASS_COUNTS_KEY

__all__ = [
    'NumClassesCheckHook', 'NumClassesMismatchError', 'collect_num_classes',
    'check_num_classes', 'model_num_classes', 'dataset_num_classes',
    'metric_num_classes'
]

#: One number of classes and where it comes from: ``(label, value)``,
#: e.g. ``('model.head.num_classes=12', 12)``.
Source = Tuple[str, int]


class NumClassesMismatchError(ValueError):
    """Parts of a run disagree on the number of classes."""


def _is_count(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(
        value, (bool, np.bool_)) and value > 0


def _config_get(cfg: Any, *keys: Any) -> Any:
    """``cfg[k0][k1]...`` or None (works on dicts, lists and Configs)."""
    for key in keys:
        try:
            cfg = cfg[key]
        except (KeyError, IndexError, TypeError):
            return None
    return cfg


def _model_key(path: str, attr: str, cfg: Any) -> Tuple[str, str]:
    """The config key of attribute ``attr`` of the sub-module at ``path``,
    and a note on where that module comes from (or '')."""
    parts = ['loss' if p == 'loss_module' else p for p in path.split('.')]
    parts.append(attr)
    if parts[:-1] == ['data_preprocessor']:
        if _config_get(cfg, 'model', 'data_preprocessor') is None and \
                _config_get(cfg, 'data_preprocessor') is not None:
            # the top-level one, merged into the model by the Runner
            return f'data_preprocessor.{attr}', ''
        return f'model.data_preprocessor.{attr}', ''
    if parts[0] == 'heads' and parts[1].isdigit() and len(parts) > 2:
        # NCL: every expert's head is built from model.head
        return 'model.head.' + '.'.join(parts[2:]), ' (every NCL expert)'
    if parts[0] in ('teachers', 'teacher'):
        # a teacher is built from its own config file
        if parts[0] == 'teachers' and parts[1].isdigit() and len(parts) > 2:
            spec, rest = f'model.teachers[{parts[1]}]', parts[2:]
            config = _config_get(cfg, 'model', 'teachers', int(parts[1]),
                                 'config')
        else:
            spec, rest = 'model.teacher', parts[1:]
            config = _config_get(cfg, 'model', 'teacher', 'config')
        name = f' {osp.basename(config)}' if isinstance(config, str) else ''
        return 'model.' + '.'.join(rest), f' (teacher {spec}.config{name})'
    return 'model.' + '.'.join(parts), ''


def model_num_classes(model: torch.nn.Module,
                      cfg: Any = None) -> List[Source]:
    """Every number of classes held by the sub-modules of ``model``.

    A sub-module counts when it has an int ``num_classes`` (heads, data
    preprocessors, teachers' heads, NCL's expert heads) or a non-empty
    ``class_counts`` tensor (the losses that take the training counts;
    counts not set yet are skipped). The model itself is skipped (its
    ``num_classes``, where present, is read from its head).

    Args:
        model (nn.Module): The model (unwrapped from DDP).
        cfg (Config | dict, optional): The run's config, to name where the
            data preprocessor and the teachers come from. Defaults to None.

    Returns:
        list[tuple[str, int]]: ``(label, number)`` pairs.
    """
    found: List[Source] = []
    for path, module in model.named_modules():
        if not path:
            continue
        counts = getattr(module, 'class_counts', None)
        if isinstance(counts, torch.Tensor):
            if counts.numel():
                key, note = _model_key(path, 'class_counts', cfg)
                found.append((f'{key}: {counts.numel()} entries{note}',
                              counts.numel()))
            continue  # its num_classes (if any) is read from the counts
        num = getattr(module, 'num_classes', None)
        if _is_count(num):
            key, note = _model_key(path, 'num_classes', cfg)
            found.append((f'{key}={int(num)}{note}', int(num)))
    return list(dict.fromkeys(found))  # NCL experts: once


def _dataset_counts_len(dataset: Any) -> Optional[int]:
    """Length of ``metainfo['class_counts']`` of a dataset or a wrapper."""
    seen = dataset
    for _ in range(8):  # wrappers keep the wrapped dataset in ``.dataset``
        meta = getattr(seen, 'metainfo', None)
        if isinstance(meta, dict) and meta.get(CLASS_COUNTS_KEY) is not None:
            return len(meta[CLASS_COUNTS_KEY])
        seen = getattr(seen, 'dataset', None)
        if seen is None:
            break
    return None


def _labels_num_classes(dataset: Any) -> Optional[int]:
    """``max(label) + 1`` over a dataset's ``get_gt_labels()`` (None when it
    has none)."""
    get = getattr(dataset, 'get_gt_labels', None)
    if not callable(get):
        return None
    try:
        labels = np.asarray(get()).reshape(-1)
    except Exception:  # a dataset whose labels cannot be listed
        return None
    if labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
        return None
    return int(labels.max()) + 1


def dataset_num_classes(dataset: Any,
                        key: str,
                        from_labels: bool = False) -> List[Source]:
    """The number of classes a dataset declares: its class names
    (``metainfo['classes']``, else an int ``num_classes``) and its training
    counts (``metainfo['class_counts']``).

    A dataset that declares none of these (MMPretrain's ``CustomDataset``
    on a list without ``classes``) gives, when ``from_labels`` is set, the
    number its labels span, ``max(label) + 1``: a training set must hold
    every class the head predicts, so a head larger or smaller than that is
    refused too.

    Args:
        dataset: The dataset (or a wrapper with ``.dataset``).
        key (str): Its config key, e.g. ``'train_dataloader.dataset'``.
        from_labels (bool): Fall back on the labels (for training data).
            Defaults to False.

    Returns:
        list[tuple[str, int]]: ``(label, number)`` pairs.
    """
    found: List[Source] = []
    meta = getattr(dataset, 'metainfo', None)
    classes = meta.get('classes') if isinstance(meta, dict) else None
    if classes is not None and len(classes) > 0:
        found.append((f'{key} classes: {len(classes)}', len(classes)))
    elif _is_count(getattr(dataset, 'num_classes', None)):
        num = int(dataset.num_classes)
        found.append((f'{key}.num_classes={num}', num))
    num = _dataset_counts_len(dataset)
    if num:
        found.append((f'{key} class_counts: {num} entries', num))
    if not found and from_labels:
        num = _labels_num_classes(dataset)
        if num is not None:
            found.append(
                (f'{key} labels 0..{num - 1} ({num} classes)', num))
    return found


def metric_num_classes(metrics: Sequence[Any], key: str) -> List[Source]:
    """The numbers of classes given to the metrics of an evaluator: an int
    ``num_classes`` or explicit ``class_counts`` (``ShotAccuracy``).

    Args:
        metrics (Sequence[BaseMetric]): The evaluator's metrics.
        key (str): The evaluator's config key, e.g. ``'val_evaluator'``.

    Returns:
        list[tuple[str, int]]: ``(label, number)`` pairs.
    """
    found: List[Source] = []
    for i, metric in enumerate(metrics):
        where = key if len(metrics) == 1 else f'{key}[{i}]'
        where = f'{where} ({type(metric).__name__})'
        counts = getattr(metric, 'class_counts', None)
        if counts is not None and len(counts):
            found.append((f'{where}.class_counts: {len(counts)} entries',
                          len(counts)))
        num = getattr(metric, 'num_classes', None)
        if _is_count(num):
            found.append((f'{where}.num_classes={int(num)}', int(num)))
    return found


def _built_loop(runner: Any, name: str) -> Optional[BaseLoop]:
    """``runner.<name>_loop`` if it is built (never builds it)."""
    loop = getattr(runner, f'_{name}_loop', None)
    return loop if isinstance(loop, BaseLoop) else None


def collect_num_classes(runner: Any,
                        splits: Sequence[str] = ('train', )
                        ) -> List[Source]:
    """Every number of classes of a run: the model's (see
    :func:`model_num_classes`), and for each split in ``splits`` its
    dataset's and its evaluator's.

    Args:
        runner (Runner): The runner (its model, its dataloaders and loops;
            a loop not built yet is skipped).
        splits (Sequence[str]): Among ``'train'``, ``'val'``, ``'test'``.
            Defaults to ``('train', )``.

    Returns:
        list[tuple[str, int]]: ``(label, number)`` pairs.
    """
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    cfg = getattr(runner, 'cfg', None)
    found = model_num_classes(model, cfg)
    for split in splits:
        if split == 'train':
            loader = getattr(runner, 'train_dataloader', None)
            evaluator = None
        else:
            loop = _built_loop(runner, split)
            if loop is None:
                continue
            loader = getattr(loop, 'dataloader', None)
            evaluator = getattr(loop, 'evaluator', None)
        dataset = getattr(loader, 'dataset', None)
        if dataset is not None:
            found += dataset_num_classes(
                dataset, f'{split}_dataloader.dataset',
                from_labels=split == 'train')
        metrics = getattr(evaluator, 'metrics', None)
        if metrics:
            found += metric_num_classes(metrics, f'{split}_evaluator')
    return found


def check_num_classes(sources: Sequence[Source],
                      what: str = 'this run') -> None:
    """Raise when the numbers of classes in ``sources`` differ.

    Args:
        sources (Sequence[tuple[str, int]]): ``(label, number)`` pairs, as
            from :func:`collect_num_classes`.
        what (str): What is checked, for the message. Defaults to
            'this run'.

    Raises:
        NumClassesMismatchError: A ``ValueError`` naming every value with
            its config key, grouped by value, and the dataset's number when
            a dataset gives one.
    """
    groups: Dict[int, List[str]] = {}
    for label, num in dict.fromkeys(sources):
        groups.setdefault(int(num), []).append(label)
    if len(groups) <= 1:
        return
    parts = '; '.join(f'{num} from {", ".join(labels)}'
                      for num, labels in groups.items())
    data = sorted({int(n) for label, n in sources
                   if '_dataloader.dataset' in label})
    hint = ''
    if len(data) == 1:
        # the keys a user can set (not a teacher's, not a metric's)
        wrong = list(dict.fromkeys(
            label.split('=')[0] for num, labels in groups.items()
            if num != data[0] for label in labels
            if '=' in label and ' ' not in label.split('=')[0]
            and '(teacher ' not in label
            and not label.startswith(('train_', 'val_', 'test_'))))
        hint = f' The data has {data[0]} classes'
        hint += (f': set {", ".join(w + "=" + str(data[0]) for w in wrong)}.'
                 if wrong else '.')
    raise NumClassesMismatchError(
        f'The number of classes differs within {what}: {parts}.{hint}')


@HOOKS.register_module()
class NumClassesCheckHook(Hook):
    """Stop before a run whose parts disagree on the number of classes.

    Before training (the model, the train and val data and the val
    evaluator), before the first validation of a ``runner.val()`` run and
    before testing (the model, the test data and evaluator), every number
    of classes is collected with :func:`collect_num_classes` (the head's
    ``num_classes``, every expert's and teacher's head, the data
    preprocessor's ``num_classes``, the class counts of the losses that
    hold them, the dataset's classes and class counts, and the metrics'
    ``num_classes`` / ``class_counts``). If they differ,
    :class:`NumClassesMismatchError` names each value with the config key
    it came from, e.g. ``12 from model.head.num_classes=12; 10 from
    train_dataloader.dataset classes: 10``.

    :class:`~ltplug.engine.ClassCountsHook` derives from this hook, so a
    config with it needs no second one.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._checked = set()

    def _check(self, runner, splits: Sequence[str], what: str) -> None:
        todo = [s for s in splits if s not in self._checked]
        if not todo:
            return
        sources = collect_num_classes(runner, todo) + self.extra_sources()
        check_num_classes(sources, what)
        self._checked.update(todo)

    def extra_sources(self) -> List[Source]:
        """Numbers of classes this hook itself was given (none here)."""
        return []

    def before_train(self, runner) -> None:
        """Check the model, the train and val data and the val metrics."""
        self._check(runner, ('train', 'val'), 'the training config')

    def before_val(self, runner) -> None:
        """Check the val data and metrics (once)."""
        self._check(runner, ('val', ), 'the validation config')

    def before_test(self, runner) -> None:
        """Check the model, the test data and metrics (once)."""
        self._check(runner, ('test', ), 'the test config')
