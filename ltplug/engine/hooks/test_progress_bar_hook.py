# Copyright (c) ltplug contributors. All rights reserved.
from typing import Optional, Sequence

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.utils import ProgressBar
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class TestProgressBarHook(Hook):
    """A terminal progress bar over the test set, on the main process.

    ``tools/test.py`` adds it unless ``--no-progress`` is given. Under
    distributed testing the bar counts the main process's batches.
    """

    priority = 'LOW'

    def __init__(self) -> None:
        self._bar: Optional[ProgressBar] = None

    def before_test_epoch(self, runner) -> None:
        """Start the bar."""
        if is_main_process():
            self._bar = ProgressBar(len(runner.test_dataloader))

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        """Advance the bar by one batch."""
        if self._bar is not None:
            self._bar.update()

    def after_test_epoch(self, runner, metrics=None) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.file.write('\n')
            self._bar = None
