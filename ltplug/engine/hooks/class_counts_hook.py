# Copyright (c) ltplug contributors. All rights reserved.
from typing import List, Optional, Sequence

import numpy as np
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from ltplug.datasets.utils import check_class_counts, get_class_counts
from ltplug.utils.validate import check_bool
from .num_classes_check_hook import NumClassesCheckHook, Source


@HOOKS.register_module()
class ClassCountsHook(NumClassesCheckHook):
    """Give the model the per-class training counts of the train dataset.

    Before training, every sub-module of the model that defines
    ``set_class_counts(counts)`` (for example ``BalancedSoftmaxLoss`` or
    ``NCLLoss`` built without ``class_counts``) receives the counts read
    with :func:`ltplug.datasets.get_class_counts` from the train dataset, so
    configs never carry hand-copied count lists.

    First, before training, validation and testing, it checks that every
    part of the run agrees on the number of classes (see
    :class:`~ltplug.engine.hooks.NumClassesCheckHook`, which it derives
    from): the heads, the data preprocessor, the losses' counts, the
    datasets, the metrics and this hook's ``class_counts``.

    Args:
        class_counts (Sequence[int], optional): Counts to use instead of the
            train dataset's. Defaults to None.
        check_num_classes (bool): Run the number-of-classes check.
            Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 class_counts: Optional[Sequence[int]] = None,
                 check_num_classes: bool = True) -> None:
        super().__init__()
        self.class_counts = (None if class_counts is None else
                             check_class_counts(class_counts))
        self.check_num_classes = check_bool(
            'check_num_classes', check_num_classes, owner='ClassCountsHook')

    def extra_sources(self) -> List[Source]:
        """This hook's own ``class_counts``, when given."""
        if self.class_counts is None:
            return []
        n = len(self.class_counts)
        return [(f'custom_hooks ClassCountsHook.class_counts: {n} entries',
                 n)]

    def _check(self, runner, splits, what) -> None:
        if self.check_num_classes:
            super()._check(runner, splits, what)

    def before_train(self, runner) -> None:
        """Check the number of classes, then read the counts and hand
        them to the modules that take them.

        No count is read when no module of the model takes counts, so the
        hook is harmless in configs whose dataset has none.
        """
        super().before_train(runner)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        setters = [(name, module.set_class_counts)
                   for name, module in model.named_modules()
                   if callable(getattr(module, 'set_class_counts', None))]
        if not setters:
            return
        counts = self.class_counts
        if counts is None:
            counts = get_class_counts(runner.train_dataloader.dataset)
        for _, setter in setters:
            setter(np.asarray(counts).tolist())
        runner.logger.info(
            f'ClassCountsHook: gave {len(counts)} class counts '
            f'(max {int(np.max(counts))}, min {int(np.min(counts))}) to '
            f'{[name or type(model).__name__ for name, _ in setters]}')
