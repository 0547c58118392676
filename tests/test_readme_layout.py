# Copyright (c) ltplug contributors. All rights reserved.
"""The README's "What is inside" table matches the package: every
component ltplug registers is named in the row of the folder its module
lives in, every ``ltplug/`` folder has a row, and every file is named
after what it holds (one registered component per file)."""
import inspect
import os
import os.path as osp
import re

import ltplug  # noqa: F401  (registers the components)
from mmpretrain.registry import (DATA_SAMPLERS, DATASETS, HOOKS, METRICS,
                                 MODELS, OPTIM_WRAPPER_CONSTRUCTORS,
                                 TRANSFORMS)

from tests.helpers import ROOT

REGISTRIES = (DATA_SAMPLERS, DATASETS, HOOKS, METRICS, MODELS,
              OPTIM_WRAPPER_CONSTRUCTORS, TRANSFORMS)


def _inside_rows() -> dict:
    text = open(osp.join(ROOT, 'README.md'), encoding='utf-8').read()
    section = text.split('## What is inside', 1)[1].split('\n## ', 1)[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r'\| `([^`]+)` \| (.*) \|$', line)
        if m:
            rows[m.group(1).rstrip('/')] = m.group(2)
    return rows


def _ltplug_components():
    seen = {}
    for registry in REGISTRIES:
        for name, obj in registry.module_dict.items():
            module = getattr(obj, '__module__', '')
            if module.startswith('ltplug.'):
                seen[name] = (obj, module)
    return seen


def test_every_registered_component_is_in_its_folder_row():
    rows = _inside_rows()
    components = _ltplug_components()
    assert len(components) > 30
    missing = []
    for name, (_, module) in components.items():
        folder = '/'.join(module.split('.')[:2])
        if f'`{name}`' not in rows.get(folder, ''):
            missing.append(f'{name} ({folder})')
    assert not missing, f'README "What is inside" misses {missing}'


def test_every_package_folder_has_a_row():
    rows = _inside_rows()
    pkg = osp.join(ROOT, 'ltplug')
    folders = sorted(f'ltplug/{d}' for d in os.listdir(pkg)
                     if osp.isfile(osp.join(pkg, d, '__init__.py')))
    assert folders and [f for f in folders if f not in rows] == []


def test_each_registered_component_has_its_own_file_named_after_it():
    by_file = {}
    for name, (obj, module) in _ltplug_components().items():
        path = inspect.getsourcefile(obj)
        by_file.setdefault(path, []).append(name)
        stem = osp.splitext(osp.basename(path))[0]
        # ImageNetLT -> imagenet_lt.py, SSDLWSClassifier -> ssd_lws_...
        assert stem.replace('_', '') == obj.__name__.lower(), (
            f'{obj.__name__} lives in {stem}.py')
    shared = {p: n for p, n in by_file.items() if len(n) > 1}
    assert not shared, f'files holding several components: {shared}'
