# Copyright (c) ltplug contributors. All rights reserved.
"""The one table of stack fixes and guards (:mod:`ltplug.utils.compat`):
each patch is installed by ``import ltplug`` while the stack needs it,
stands down when its test says upstream no longer does, all of them are
off with ``LTPLUG_NO_PATCHES=1``, and :func:`active_patches` lists them."""
import importlib
import json
import os
import subprocess
import sys

import pytest

from ltplug.utils import compat
from tests.helpers import ROOT

#: Prints, as JSON, whether each upstream function is ltplug's, the active
#: patches and whether ltplug's components are registered.
PROBE = r'''
import json
import ltplug
import mmcv
import mmengine.dist.utils as dist_utils
import mmengine.utils.package_utils as package_utils
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.model.weight_init import PretrainedInit
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader
from mmpretrain.apis import ImageClassificationInferencer
from mmpretrain.registry import MODELS
from ltplug.utils.compat import active_patches

local = CheckpointLoader._schemes['']
print(json.dumps(dict(
    safe_local_loader=local.__module__.startswith('ltplug'),
    strict_runner_load=Runner.load_checkpoint.__module__.startswith('ltplug'),
    strict_pretrained=PretrainedInit.__call__.__module__.startswith('ltplug'),
    atomic_save=LocalBackend.put.__module__.startswith('ltplug'),
    package_lookup=package_utils.is_installed.__module__.startswith('ltplug'),
    cpu_distributed=dist_utils._init_dist_pytorch.__module__.startswith(
        'ltplug'),
    hue_numpy2=mmcv.adjust_hue.__module__.startswith('ltplug'),
    wrapped_inferencer=ImageClassificationInferencer._init_pipeline
    .__module__.startswith('ltplug'),
    active=active_patches(),
    registered=MODELS.get('SSDDistiller') is not None)))
'''


def _run_probe(no_patches):
    env = dict(os.environ)
    env.pop(compat.ENV_NO_PATCHES, None)
    if no_patches is not None:
        env[compat.ENV_NO_PATCHES] = no_patches
    proc = subprocess.run([sys.executable, '-c', PROBE],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _names():
    return [p.name for p in compat.PATCHES]


def test_import_installs_every_patch_on_this_stack():
    """Without the variable, ``import ltplug`` replaces each function."""
    out = _run_probe(None)
    assert out.pop('active') == _names()
    assert out.pop('registered')
    assert out == {name: True for name in _names()}


def test_no_patches_leaves_upstream_untouched():
    """``LTPLUG_NO_PATCHES=1``: MMEngine's, mmcv's and MMPretrain's
    functions stay their own; the components are still registered."""
    out = _run_probe('1')
    assert out.pop('active') == []
    assert out.pop('registered')
    assert out == {name: False for name in _names()}


def test_bad_no_patches_value_is_quoted(monkeypatch):
    monkeypatch.setenv(compat.ENV_NO_PATCHES, 'maybe')
    with pytest.raises(ValueError, match="got 'maybe'"):
        compat.patches_disabled()
    monkeypatch.setenv(compat.ENV_NO_PATCHES, '0')
    assert not compat.patches_disabled()


def test_active_patches_in_this_process():
    assert compat.active_patches() == _names()
    assert set(compat.patch_status().values()) == {compat.ACTIVE}


def test_table_is_complete():
    """Every row says what, why, the upstream state and the stand-down
    test, and names functions that exist."""
    assert len(set(_names())) == len(_names())
    for patch in compat.PATCHES:
        assert patch.changes and patch.why and patch.stand_down, patch.name
        assert (patch.upstream == 'ltplug guard'
                or patch.upstream.startswith(
                    ('fixed in ', 'not fixed upstream as of ',
                     'ltplug guard ('))), patch.upstream
        guard = patch.upstream.startswith('ltplug guard')
        assert guard == (patch.needed == compat.ALWAYS), patch.name
        assert callable(compat._resolve(patch.needed))
        assert callable(compat._resolve(patch.install))


def _fake(monkeypatch, ref, fn):
    module, _, name = ref.partition(':')
    monkeypatch.setattr(importlib.import_module(f'ltplug.utils.{module}'),
                        name, fn)


PROBED = [p for p in compat.PATCHES if p.needed != compat.ALWAYS]


@pytest.mark.parametrize('patch', PROBED, ids=[p.name for p in PROBED])
@pytest.mark.parametrize('needed', [False, True])
def test_stand_down(patch, needed, monkeypatch):
    """A patch whose test says upstream is fixed is not installed (and is
    not listed as active); while needed it is."""
    calls = []
    monkeypatch.setattr(compat, '_STATUS', {})
    _fake(monkeypatch, patch.needed, lambda: needed)
    _fake(monkeypatch, patch.install, lambda: calls.append(patch.name))
    compat.setup_compat([patch])
    assert calls == ([patch.name] if needed else [])
    assert (patch.name in compat.active_patches()) == needed
    assert compat.patch_status()[patch.name] == (
        compat.ACTIVE if needed else compat.STOOD_DOWN)


def test_no_patches_installs_nothing(monkeypatch):
    calls = []
    monkeypatch.setattr(compat, '_STATUS', {})
    monkeypatch.setenv(compat.ENV_NO_PATCHES, '1')
    for patch in compat.PATCHES:
        _fake(monkeypatch, patch.install, lambda: calls.append(1))
    compat.setup_compat()
    assert calls == [] and compat.active_patches() == []
    assert set(compat.patch_status().values()) == {compat.DISABLED}


def test_an_installed_patch_is_not_decided_again(monkeypatch):
    """setup_compat() twice: the second call tests nothing again."""
    patch = PROBED[0]
    monkeypatch.setattr(compat, '_STATUS', {})
    _fake(monkeypatch, patch.install, lambda: None)
    _fake(monkeypatch, patch.needed, lambda: True)
    compat.setup_compat([patch])
    _fake(monkeypatch, patch.needed, lambda: pytest.fail('tested again'))
    compat.setup_compat([patch])
    assert compat.active_patches() == [patch.name]


def test_probes_see_the_unfixed_stack():
    """The stand-down tests judge upstream's own functions (kept aside when
    patched), so each still says 'needed' here after ``import ltplug``."""
    for patch in PROBED:
        assert compat._resolve(patch.needed)() is True, patch.name


def test_probes_see_a_fixed_upstream(monkeypatch):
    """Each stand-down test says 'not needed' once upstream behaves."""
    from mmengine.fileio.backends.local_backend import LocalBackend
    from mmpretrain.apis import ImageClassificationInferencer

    from ltplug.utils import (atomic_save, dist_compat, image_compat,
                              inference_compat, package_compat)

    monkeypatch.setattr(image_compat, 'original_adjust_hue',
                        lambda img, hue_factor, backend=None: img)
    assert image_compat._original_fails() is False

    def fixed_pipeline(self, cfg):
        return cfg.test_dataloader.dataset.dataset.pipeline

    monkeypatch.setattr(ImageClassificationInferencer, '_init_pipeline',
                        fixed_pipeline)
    assert inference_compat.upstream_misses_wrapped_pipeline() is False

    def atomic_put(self, obj, filepath):
        data = bytes(obj)  # raises before the file is touched
        with open(filepath, 'wb') as f:
            f.write(data)

    monkeypatch.setattr(LocalBackend, 'put', atomic_put)
    assert atomic_save.upstream_put_truncates() is False

    def init_dist(backend, **kwargs):  # checks CUDA, as a fix would
        import torch
        from mmengine.device import is_cuda_available
        if is_cuda_available():
            torch.cuda.set_device(0)

    monkeypatch.setattr(dist_compat, 'original_init_dist_pytorch', init_dist)
    assert dist_compat.upstream_needs_accelerator() is False

    monkeypatch.setitem(sys.modules, 'pkg_resources', object())
    assert package_compat.pkg_resources_missing() is False


def test_readme_table_matches_the_table():
    """README's "What `import ltplug` changes" lists every row of
    :data:`PATCHES` with the same upstream state and stand-down test."""
    import os.path as osp
    with open(osp.join(ROOT, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    section = text.split('## What `import ltplug` changes', 1)[1]
    section = section.split('\n## ', 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip().replace('`', '') for c in
                 line.strip().strip('|').split('|')]
        if line.startswith('| `') and len(cells) == 4:
            rows[cells[0]] = (cells[2], cells[3])
    assert list(rows) == _names()
    for patch in compat.PATCHES:
        assert rows[patch.name] == (patch.upstream, patch.stand_down), (
            patch.name)
    assert compat.ENV_NO_PATCHES + '=1' in section
