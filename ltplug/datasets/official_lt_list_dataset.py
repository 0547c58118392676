# Copyright (c) ltplug contributors. All rights reserved.
from typing import List, Optional

from .lt_list_dataset import LTListDataset


class OfficialLTListDataset(LTListDataset):
    """Base of the datasets with official split lists (not registered).

    Subclasses set ``NUM_CLASSES``, ``LIST_FILES`` (split name -> list file
    name, under ``data_root``; ``'train'`` must be one of them), and
    optionally ``METAINFO`` (class names) and ``SPLIT_HINT`` (added to the
    error on an unknown split). ``metainfo['class_counts']`` holds the
    training counts on every split: a split other than ``'train'`` reads
    them from the official train list (unless ``class_counts`` or
    ``class_counts_file`` is given), ``'train'`` from its own list. See
    :class:`LTListDataset` for the strict list parsing and the
    missing-image checks.

    Args:
        data_root (str): Folder holding the lists and the images. Defaults
            to ''.
        split (str): One of ``LIST_FILES``. Defaults to 'train'.
        ann_file (str, optional): List to read instead of the official one
            of ``split``. Defaults to None.
        class_counts_file (str, optional): Train list giving the training
            counts. Defaults to None: the official train list for a split
            other than ``'train'`` (unless ``class_counts`` is given), the
            list itself for ``'train'``.
        **kwargs: Other arguments of :class:`LTListDataset`
            (``num_classes`` defaults to ``NUM_CLASSES``).

    Raises:
        ValueError: ``split`` is not one of ``LIST_FILES`` (the value and
            the splits are named), or as :class:`LTListDataset`.
    """

    NUM_CLASSES: int = 0
    LIST_FILES: dict = {}
    SPLIT_HINT: str = ''

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 ann_file: Optional[str] = None,
                 class_counts_file: Optional[str] = None,
                 **kwargs) -> None:
        if split not in self.LIST_FILES:
            raise ValueError(
                f'{type(self).__name__}: split must be one of '
                f'{tuple(self.LIST_FILES)}, but got {split!r}'
                f'{self.SPLIT_HINT}')
        self.split = split
        if ann_file is None:
            ann_file = self.LIST_FILES[split]
        if (split != 'train' and class_counts_file is None
                and kwargs.get('class_counts') is None):
            class_counts_file = self.LIST_FILES['train']
        kwargs.setdefault('num_classes', self.NUM_CLASSES)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            class_counts_file=class_counts_file,
            **kwargs)

    def extra_repr(self) -> List[str]:
        """Lines added to ``repr``."""
        return [f'Split: \t{self.split}'] + super().extra_repr()
