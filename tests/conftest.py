# Copyright (c) ltplug contributors. All rights reserved.
"""Shared fixtures: the project's real data in ``../shared`` (tests that use
it skip with a reason when it is absent) and small helpers."""
import os
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = os.environ.get('LTPLUG_SHARED',
                        osp.join(osp.dirname(ROOT), 'shared'))

if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import ltplug  # noqa: E402,F401  (registers every component)


def shared_path(*parts: str) -> str:
    """Path under ``../shared``; skips the calling test when it is absent."""
    path = osp.join(SHARED, *parts)
    if not osp.exists(path):
        pytest.skip(f'needs {path} (the project\'s shared data), absent here')
    return path


@pytest.fixture(scope='session')
def lt_lists_dir() -> str:
    """``../shared/data/lt_lists`` (official LT annotation lists)."""
    return shared_path('data', 'lt_lists')


@pytest.fixture(scope='session')
def cifar10_arrays():
    """The real CIFAR-10 from ``../shared`` as numpy arrays:
    ``((x_train, y_train), (x_test, y_test), classes)``."""
    folder = shared_path('data', 'cifar10')
    sys.path.insert(0, folder)
    try:
        import load_cifar10
    finally:
        sys.path.remove(folder)
    return load_cifar10.load()


@pytest.fixture(scope='session')
def cifar10_root(tmp_path_factory, cifar10_arrays) -> str:
    """A folder holding ``cifar-10-batches-py`` (the official python layout)
    written from the shared CIFAR-10, for ``CIFAR10`` / ``CIFAR10LT``."""
    folder = shared_path('data', 'cifar10')
    sys.path.insert(0, folder)
    try:
        import load_cifar10
    finally:
        sys.path.remove(folder)
    root = str(tmp_path_factory.mktemp('cifar10'))
    (x_tr, y_tr), (x_te, y_te), classes = cifar10_arrays
    load_cifar10.write_pickles(root, x_tr, y_tr, x_te, y_te, classes)
    return root
