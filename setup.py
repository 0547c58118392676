# Copyright (c) ltplug contributors. All rights reserved.
"""Install ``ltplug``, the long-tailed recognition plugin for MMPretrain.

Runtime dependencies are kept to what the plugin really imports. ``mmcv-lite``
is required only when no full ``mmcv`` is installed: a user's existing full
``mmcv`` (2.x) is kept as it is, never replaced.
"""
import importlib.util
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def get_version() -> str:
    """Read ``__version__`` from ``ltplug/version.py`` without importing."""
    scope: dict = {}
    with open(osp.join(HERE, 'ltplug', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def mmcv_requirement() -> str:
    """``mmcv`` 2.x if a full mmcv is already installed, else mmcv-lite."""
    try:
        from importlib.metadata import PackageNotFoundError, version
        try:
            version('mmcv')
            return 'mmcv>=2.0.0,<2.4.0'
        except PackageNotFoundError:
            pass
    except ImportError:  # pragma: no cover
        pass
    if importlib.util.find_spec('mmcv') is not None:
        return 'mmcv>=2.0.0,<2.4.0'
    return 'mmcv-lite>=2.0.0,<2.4.0'


with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
    long_description = f.read()

setup(
    name='ltplug',
    version=get_version(),
    description='Long-tailed visual recognition (SSD, CBD, NCL and baselines) '
    'as an MMPretrain plugin',
    long_description=long_description,
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools',
                                    'benchmarks')),
    python_requires='>=3.8',
    install_requires=[
        'mmpretrain>=1.2.0,<1.3.0',
        'mmengine>=0.10.7,<1.0.0',
        mmcv_requirement(),
        'torch>=2.0',
        'torchvision',
        'numpy',
        'matplotlib',
    ],
    extras_require={
        # tensorboard: tests/test_tools/test_tensorboard_logging.py reads the
        # event files MMEngine's TensorboardVisBackend writes
        'tests': ['pytest>=7', 'hypothesis>=6', 'tensorboard>=2.10'],
    },
    license='Apache License 2.0',
    classifiers=[
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3.11',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
