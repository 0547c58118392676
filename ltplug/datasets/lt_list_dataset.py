# Copyright (c) ltplug contributors. All rights reserved.
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.fileio import LocalBackend, exists, get_file_backend, join_path
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from ltplug.utils.validate import check_bool, check_number

from .list_file import parse_list_file
from .transforms import CorruptImageError
from .utils import CLASS_COUNTS_KEY, check_class_counts, counts_from_labels

#: Key of the 1-based list line of every image in its data info.
LINE_KEY = 'ann_line'


@DATASETS.register_module()
class LTListDataset(BaseDataset):
    """A long-tailed dataset read from a ``relative/path label`` list.

    The list format (that of the ImageNet-LT, Places-LT and iNaturalist-2018
    lists of OLTR / classifier-balancing) is parsed strictly by
    :func:`ltplug.datasets.list_file.parse_list_lines`: a malformed line, a
    label that is not an integer or is out of ``[0, num_classes)`` raises
    ``ValueError`` naming ``file:line`` and the bad text. No line is
    skipped, except blank ones.

    ``metainfo['class_counts']`` holds the per-class **training** counts
    (see :mod:`ltplug.datasets.utils`), taken from, in this order:
    ``class_counts``; the list ``class_counts_file`` (the train list, for a
    val / test split); otherwise this list itself (a train split; with
    ``lazy_init=True`` these counts appear once the list is loaded). The
    counts are checked: a class with no training image raises
    ``ValueError`` unless ``allow_empty_classes=True``.

    Missing images: with ``check_files=True`` every image is looked up when
    the list is loaded, and a missing one raises ``FileNotFoundError``
    naming ``file:line`` and the path (this costs one ``stat`` per image,
    slow on network file systems with hundreds of thousands of images,
    hence off by default). With the default ``check_files=False`` a missing
    image is reported when it is loaded: a ``FileNotFoundError`` (or
    :class:`~ltplug.datasets.transforms.CorruptImageError` from
    ``LoadImageFromFileChecked``) raised by the pipeline is re-raised with
    the list's ``file:line`` and the image path in its message.

    Args:
        ann_file (str): The list, relative to ``data_root`` unless absolute.
        num_classes (int, optional): Number of classes; labels must lie in
            ``[0, num_classes)``. Defaults to None, i.e. ``len(classes)``.
            One of ``num_classes`` and ``classes`` is required.
        classes (str | Sequence[str], optional): Class names (or a file with
            one name a line). Defaults to None.
        data_root (str): Root of ``ann_file``, ``data_prefix`` and
            ``class_counts_file``. Defaults to ''.
        data_prefix (str | dict): Folder the image paths are relative to,
            under ``data_root``. Defaults to '' (``data_root`` itself).
        class_counts (Sequence[int], optional): Training images per class.
            Defaults to None.
        class_counts_file (str, optional): A list (same format) whose
            per-class counts are the training counts, relative to
            ``data_root`` unless absolute. Defaults to None.
        allow_empty_classes (bool): Accept training counts with zero images
            in some class (e.g. the own counts of a partial val list).
            Defaults to False.
        check_files (bool): Check at load time that every image exists.
            Defaults to False (checked lazily, when loaded).
        backend_args (dict, optional): mmengine file backend arguments for
            the lists and the existence checks. Defaults to None.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``metainfo``, ``test_mode``, ``lazy_init``,
            ``indices``, ...).
    """

    def __init__(self,
                 ann_file: str,
                 num_classes: Optional[int] = None,
                 classes: Union[str, Sequence[str], None] = None,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 class_counts: Optional[Sequence[int]] = None,
                 class_counts_file: Optional[str] = None,
                 allow_empty_classes: bool = False,
                 check_files: bool = False,
                 backend_args: Optional[dict] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        if not ann_file:
            raise ValueError(f'ann_file must name a list file, but got '
                             f'{ann_file!r}')
        metainfo = self._compat_classes(dict(metainfo or {}), classes)
        names = metainfo.get('classes')
        if num_classes is None:
            if names is None:
                raise ValueError(
                    f'{type(self).__name__} needs num_classes or classes '
                    '(inferring them from the largest label would silently '
                    'drop tail classes absent from the list)')
            num_classes = len(names)
        num_classes = check_number('num_classes', num_classes, integer=True,
                                   min=1, owner=type(self).__name__)
        if names is not None and len(names) != num_classes:
            raise ValueError(f'{len(names)} class names given for '
                             f'num_classes={num_classes}')
        self.num_classes = int(num_classes)
        self.allow_empty_classes = check_bool(
            'allow_empty_classes', allow_empty_classes,
            owner=type(self).__name__)
        self.check_files = check_bool('check_files', check_files,
                                      owner=type(self).__name__)
        self.backend_args = backend_args
        self.counts_source = None
        if class_counts is not None and class_counts_file is not None:
            raise ValueError('give class_counts or class_counts_file, not '
                             'both')
        if class_counts is not None:
            counts = check_class_counts(class_counts, allow_zero=True)
            if counts.size != self.num_classes:
                raise ValueError(
                    f'class_counts has {counts.size} entries but '
                    f'num_classes={self.num_classes}: {counts.tolist()}')
            self._check_empty(counts, 'class_counts')
            metainfo[CLASS_COUNTS_KEY] = [int(n) for n in counts]
            self.counts_source = 'class_counts'
        elif class_counts_file is not None:
            if data_root and not osp.isabs(class_counts_file):
                class_counts_file = join_path(data_root, class_counts_file)
            metainfo[CLASS_COUNTS_KEY] = self._counts_from_file(
                class_counts_file)
            self.counts_source = class_counts_file
        self.class_counts_file = class_counts_file
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    def _check_empty(self, counts: np.ndarray, source: str) -> None:
        """Raise on a class with no training image (unless allowed)."""
        if self.allow_empty_classes:
            return
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            first = ' (first 20)' if empty.size > 20 else ''
            raise ValueError(
                f'{source}: {empty.size} of {counts.size} classes have zero '
                f'training images{first}: {empty[:20].tolist()}. Pass '
                'allow_empty_classes=True to accept this (e.g. for the own '
                'counts of a partial val list).')

    def _counts_from_file(self, path: str) -> List[int]:
        """Per-class counts of the list ``path`` (checked)."""
        if not exists(path, backend_args=self.backend_args):
            raise FileNotFoundError(
                f'{type(self).__name__} reads the training counts from '
                f'{path}, which does not exist; provide that train list or '
                'pass class_counts_file=<train list> / class_counts=[...]')
        _, labels, _ = parse_list_file(path, self.num_classes,
                                       self.backend_args)
        counts = counts_from_labels(labels, self.num_classes)
        self._check_empty(counts, path)
        return [int(n) for n in counts]

    def load_data_list(self) -> List[dict]:
        """Parse the list; set the own counts when no other source is
        given; check the images exist when ``check_files``."""
        if not exists(self.ann_file, backend_args=self.backend_args):
            raise FileNotFoundError(
                f'annotation list {self.ann_file} does not exist')
        paths, labels, line_nos = parse_list_file(self.ann_file,
                                                  self.num_classes,
                                                  self.backend_args)
        if self.counts_source is None:
            counts = counts_from_labels(labels, self.num_classes)
            self._check_empty(counts, self.ann_file)
            self._metainfo[CLASS_COUNTS_KEY] = [int(n) for n in counts]
        join = self._path_joiner(self.img_prefix)
        data_list = []
        for rel, label, line_no in zip(paths, labels.tolist(), line_nos):
            img_path = join(rel)
            data_list.append(
                dict(img_path=img_path, gt_label=label,
                     **{LINE_KEY: line_no}))
        if self.check_files:
            self._check_files(data_list)
        return data_list

    def _path_joiner(self, prefix: str):
        """``rel -> prefix/rel`` (``os.path.join`` semantics on local
        paths, done by string concatenation: lists are long)."""
        if not prefix:
            return lambda rel: rel
        backend = get_file_backend(prefix, backend_args=self.backend_args)
        if not isinstance(backend, LocalBackend) or osp.sep != '/':
            return lambda rel: backend.join_path(prefix, rel)
        base = prefix if prefix.endswith('/') else prefix + '/'
        return lambda rel: rel if rel.startswith('/') else base + rel

    def _check_files(self, data_list: List[dict]) -> None:
        """Raise ``FileNotFoundError`` naming the missing images."""
        if self.backend_args is None:
            missing = [d for d in data_list if not osp.isfile(d['img_path'])]
        else:
            missing = [
                d for d in data_list
                if not exists(d['img_path'], backend_args=self.backend_args)
            ]
        if missing:
            shown = '; '.join(f'{self.ann_file}:{d[LINE_KEY]}: '
                              f'{d["img_path"]}' for d in missing[:5])
            raise FileNotFoundError(
                f'{len(missing)} of {len(data_list)} images listed in '
                f'{self.ann_file} do not exist: {shown}'
                f'{" ..." if len(missing) > 5 else ""}')

    def prepare_data(self, idx: int):
        """Run the pipeline; a missing / corrupt image error names the list
        line."""
        try:
            return super().prepare_data(idx)
        except (FileNotFoundError, CorruptImageError) as e:
            info = self.get_data_info(idx)
            where = f'{self.ann_file}:{info.get(LINE_KEY, "?")}'
            raise type(e)(f'{where}: cannot load image {info["img_path"]}: '
                          f'{e}') from e

    def get_gt_labels(self) -> np.ndarray:
        """Labels of every image (int64 array)."""
        return np.fromiter(
            (self.get_data_info(i)['gt_label'] for i in range(len(self))),
            dtype=np.int64,
            count=len(self))

    def extra_repr(self) -> List[str]:
        """Lines added to ``repr``."""
        return [
            f'Annotation file: \t{self.ann_file}',
            f'Number of classes: \t{self.num_classes}',
            f'Training counts from: \t{self.counts_source or self.ann_file}',
        ]
