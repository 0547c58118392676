# Copyright (c) ltplug contributors. All rights reserved.
from typing import Optional, Sequence

import numpy as np
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from ltplug.datasets.utils import check_class_counts, get_class_counts


@HOOKS.register_module()
class ClassCountsHook(Hook):
    """Give the model the per-class training counts of the train dataset.

    Before training, every sub-module of the model that defines
    ``set_class_counts(counts)`` (for example ``BalancedSoftmaxLoss`` or
    ``NCLLoss`` built without ``class_counts``) receives the counts read
    with :func:`ltplug.datasets.get_class_counts` from the train dataset, so
    configs never carry hand-copied count lists.

    Args:
        class_counts (Sequence[int], optional): Counts to use instead of the
            train dataset's. Defaults to None.
    """

    priority = 'VERY_HIGH'

    def __init__(self, class_counts: Optional[Sequence[int]] = None) -> None:
        self.class_counts = (None if class_counts is None else
                             check_class_counts(class_counts))

    def before_train(self, runner) -> None:
        """Read the counts and hand them to the modules that take them.

        Nothing is read when no module of the model takes counts, so the
        hook is harmless in configs whose dataset has none.
        """
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
