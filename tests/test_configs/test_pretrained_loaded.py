# Copyright (c) ltplug contributors. All rights reserved.
"""Every weight file a config names is really loaded into the built model.

For each config in ``configs/`` the model is built as the Runner builds it,
with every weight file it names replaced by a local file holding known,
distinctive weights (seeded random values, generated from the built model
itself):

* ``init_cfg=dict(type='Pretrained', ...)`` anywhere in the model (the
  backbone of fine-tuned / decoupled models, each NCL expert and EMA copy,
  classifier heads), honouring its ``prefix``;
* ``init_checkpoint`` (SSD stages II / IV: the previous stage);
* the distillation teachers' checkpoints (SSD stage III ``teacher``, CBD
  ``teachers``), which are loaded when the model is built.

After ``init_weights()`` (what the Runner calls) every module that names a
file must hold exactly the file's values, and every teacher its own. A
container that MMEngine's ``init_weights`` does not descend into, an init
that runs after the load and overwrites it, a ``strict=False`` load whose
keys do not match, or an EMA copy left at random all fail here.

Configs that name no file are checked not to claim pre-training in their
name (``*-pre``) and are not built. Models whose dict is the same (up to
the file names) are built once.
"""
import copy
import functools
import glob
import os.path as osp
from typing import Any, Dict, List, Tuple

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from ltplug.models.utils.teacher import teacher_model_cfg
from tests.helpers import ROOT

CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                       recursive=True) if '_base_' not in p.split(osp.sep))


def to_dict(cfg: Any) -> Any:
    if isinstance(cfg, ConfigDict):
        return cfg.to_dict()
    return copy.deepcopy(cfg)


def model_cfg_of(path: str) -> dict:
    """The model dict as the Runner builds it (top-level preprocessor)."""
    return copy.deepcopy(_model_cfg(path))


@functools.lru_cache(maxsize=None)
def _model_cfg(path: str) -> dict:
    cfg = Config.fromfile(osp.join(ROOT, path))
    model = to_dict(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', to_dict(cfg.data_preprocessor))
    return model


def pretrained_entries(node: Any) -> List[dict]:
    """Every ``Pretrained`` init_cfg dict under ``node`` (a config)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'init_cfg':
                entries = value if isinstance(value, list) else [value]
                found += [
                    e for e in entries
                    if isinstance(e, dict) and e.get('type') == 'Pretrained'
                ]
            else:
                found += pretrained_entries(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            found += pretrained_entries(value)
    return found


def teacher_specs(model: dict) -> List[Tuple[str, dict]]:
    """(module name, spec) of the distillation teachers of a model dict."""
    specs = []
    if isinstance(model.get('teacher'), dict):
        specs.append(('teacher', model['teacher']))
    teachers = model.get('teachers')
    if isinstance(teachers, dict):
        teachers = [teachers]
    for i, spec in enumerate(teachers or []):
        specs.append((f'teachers.{i}', spec))
    return specs


def names_files(model: dict) -> bool:
    return bool(
        pretrained_entries(model) or model.get('init_checkpoint')
        or teacher_specs(model))


def normalised_key(model: dict) -> str:
    """The model dict with each distinct file name replaced by its index
    (models that differ only in which file they load are built once)."""
    model = copy.deepcopy(model)
    names: Dict[str, int] = {}

    def rename(value: str) -> str:
        return f'<file {names.setdefault(value, len(names))}>'

    for entry in pretrained_entries(model):
        entry['checkpoint'] = rename(entry['checkpoint'])
    if model.get('init_checkpoint'):
        model['init_checkpoint'] = rename(model['init_checkpoint'])
    for _, spec in teacher_specs(model):
        spec['checkpoint'] = rename(str(spec.get('checkpoint')))
        if isinstance(spec.get('config'), str):
            spec['config'] = osp.basename(spec['config'])
    return repr(sorted(model.items(), key=lambda kv: kv[0]))


def distinctive(state: Dict[str, torch.Tensor],
                seed: int) -> Dict[str, torch.Tensor]:
    """Seeded random values of the same shapes and dtypes (integer
    buffers, e.g. BN's num_batches_tracked, get 7)."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key, value in state.items():
        if value.is_floating_point():
            out[key] = torch.randn(value.shape, generator=gen).to(value.dtype)
        else:
            out[key] = torch.full_like(value, 7)
    return out


def sanitised_teacher_cfg(spec: dict, name: str) -> dict:
    """A teacher's model dict without its own weight files (its
    checkpoint overwrites whatever they would load)."""
    config = spec['config']
    if isinstance(config, str) and not osp.isabs(config):
        config = osp.join(ROOT, config)
    tcfg = teacher_model_cfg(config, name)

    def strip(node: Any) -> None:
        if isinstance(node, dict):
            init = node.get('init_cfg')
            if isinstance(init, dict) and init.get('type') == 'Pretrained':
                node['init_cfg'] = None
            elif isinstance(init, list):
                node['init_cfg'] = [
                    e for e in init
                    if not (isinstance(e, dict)
                            and e.get('type') == 'Pretrained')
                ] or None
            for key, value in node.items():
                if key != 'init_cfg':
                    strip(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                strip(value)

    strip(tcfg)
    if 'init_checkpoint' in tcfg:
        tcfg['init_checkpoint'] = None
    return tcfg


def modules_naming(model: torch.nn.Module) -> Dict[str, List[tuple]]:
    """checkpoint path -> [(module name, module, prefix)] for every built
    module whose ``init_cfg`` has a ``Pretrained`` entry."""
    found: Dict[str, List[tuple]] = {}
    for name, module in model.named_modules():
        init = getattr(module, 'init_cfg', None)
        entries = init if isinstance(init, list) else [init]
        for e in entries:
            if isinstance(e, dict) and e.get('type') == 'Pretrained':
                found.setdefault(e['checkpoint'], []).append(
                    (name, module, e.get('prefix')))
    return found


def file_state(users: List[tuple], seed: int) -> Dict[str, torch.Tensor]:
    """The file a set of modules loads: their state dicts under their
    prefixes (the same key from two modules, e.g. every NCL expert
    loading one backbone file, is written once)."""
    state: Dict[str, torch.Tensor] = {}
    for _, module, prefix in users:
        prefix = '' if prefix is None else prefix.rstrip('.') + '.'
        for key, value in module.state_dict().items():
            state.setdefault(prefix + key, value)
    return distinctive(state, seed)


def check_holds(module: torch.nn.Module, state: Dict[str, torch.Tensor],
                prefix: str, what: str) -> int:
    own = module.state_dict()
    keys = [k for k in own if prefix + k in state]
    assert keys, f'{what}: no key of the module in its file'
    wrong = [k for k in keys if not torch.equal(own[k], state[prefix + k])]
    assert not wrong, (f'{what}: {len(wrong)} of {len(keys)} tensors do not '
                       f'hold the file\'s values, e.g. {wrong[:4]}')
    return len(keys)


def build_and_check(model_cfg: dict, tmpdir: str) -> Dict[str, int]:
    """Build with local files, run init_weights, check every loaded
    module; returns the number of tensors checked per module."""
    model_cfg = copy.deepcopy(model_cfg)
    checked: Dict[str, int] = {}
    # the teachers are loaded at build time: their files first
    teacher_files = []
    for i, (name, spec) in enumerate(teacher_specs(model_cfg)):
        tcfg = sanitised_teacher_cfg(spec, name)
        teacher = MODELS.build(copy.deepcopy(tcfg))
        state = distinctive(teacher.state_dict(), seed=1000 + i)
        del teacher
        path = osp.join(tmpdir, f'teacher_{i}.pth')
        torch.save(dict(state_dict=state), path)
        spec['config'] = tcfg
        spec['checkpoint'] = path
        teacher_files.append((name, state))
    if isinstance(model_cfg.get('teachers'), dict):
        model_cfg['teachers'] = [model_cfg['teachers']]
    # Pretrained files: local names now, written once the model is built
    local = {}
    for entry in pretrained_entries(model_cfg):
        entry['checkpoint'] = local.setdefault(
            entry['checkpoint'], osp.join(tmpdir, f'pretrained_{len(local)}'
                                          '.pth'))
    init_ckpt = model_cfg.get('init_checkpoint')
    if init_ckpt:
        model_cfg['init_checkpoint'] = osp.join(tmpdir, 'previous_stage.pth')

    model = MODELS.build(model_cfg)
    users = modules_naming(model)
    assert set(users) == set(local.values()), (
        f'built modules name {sorted(users)}, the config {sorted(local)}')
    pretrained_states = {}
    for i, (path, mods) in enumerate(sorted(users.items())):
        pretrained_states[path] = file_state(mods, seed=i)
        torch.save(dict(state_dict=pretrained_states[path]), path)
    if init_ckpt:
        prev_state = distinctive(model.state_dict(), seed=500)
        torch.save(dict(state_dict=prev_state), model.init_checkpoint)

    model.init_weights()

    for path, mods in users.items():
        for name, module, prefix in mods:
            prefix = '' if prefix is None else prefix.rstrip('.') + '.'
            checked[name] = check_holds(module, pretrained_states[path],
                                        prefix, f'{name} (Pretrained)')
    if init_ckpt:
        own = model.state_dict()
        wanted = [
            k for k in own if k.startswith(tuple(model.load_prefixes))
        ]
        assert wanted
        wrong = [k for k in wanted if not torch.equal(own[k], prev_state[k])]
        assert not wrong, f'init_checkpoint: not loaded: {wrong[:4]}'
        checked['init_checkpoint'] = len(wanted)
    for name, state in teacher_files:
        teacher = model.get_submodule(name)
        checked[name] = check_holds(teacher, state, '', f'{name} (teacher)')
    return checked


_RESULTS: Dict[str, Dict[str, int]] = {}


@pytest.mark.parametrize('path', CONFIGS)
def test_named_weights_are_loaded(path, tmp_path):
    init_default_scope('mmpretrain')
    model_cfg = model_cfg_of(path)
    if not names_files(model_cfg):
        assert '-pre_' not in osp.basename(path), (
            f'{path} says pre-trained but names no weight file')
        return
    key = normalised_key(model_cfg)
    if key not in _RESULTS:
        _RESULTS[key] = build_and_check(model_cfg, str(tmp_path))
    checked = _RESULTS[key]
    # what the config names is what was checked
    if model_cfg.get('type') == 'NCLMultiExpertClassifier' and \
            pretrained_entries(model_cfg.get('backbone')):
        n = model_cfg['num_experts']
        names = [f'backbones.{i}' for i in range(n)]
        if model_cfg.get('moco'):
            names += [f'ema_backbones.{i}' for i in range(n)]
        missing = [m for m in names if m not in checked]
        assert not missing, f'{path}: experts / EMA copies unchecked: ' \
            f'{missing} (checked {sorted(checked)})'
    for name, _ in teacher_specs(model_cfg):
        assert name in checked
    assert all(n > 0 for n in checked.values())


def test_every_config_is_covered():
    """The walk sees the kinds of file every method uses."""
    kinds = set()
    for path in CONFIGS:
        m = model_cfg_of(path)
        if pretrained_entries(m):
            kinds.add('pretrained')
        if m.get('init_checkpoint'):
            kinds.add('init_checkpoint')
        if teacher_specs(m):
            kinds.add('teacher')
    assert kinds == {'pretrained', 'init_checkpoint', 'teacher'}
