# Copyright (c) ltplug contributors. All rights reserved.
"""Print the effective training recipe of a config, read from the built
pieces a Runner would use rather than from the config's values.

What is built, and what is reported from it:

- the model (``mmpretrain.registry.MODELS``, the Runner's
  ``data_preprocessor`` merge included) and, after ``model.init_weights()``,
  the initialisation each top-level module actually received: MMEngine's own
  per-parameter init record, ``init_cfg`` entries that were never applied
  (a ``BaseModule`` whose ``init_weights`` was not reached, e.g. inside a
  plain ``nn.ModuleList``), and, for every conv / linear weight, the closest
  of Kaiming fan_in ``sqrt(2 / fan_in)``, Kaiming fan_out
  ``sqrt(2 / fan_out)``, Xavier ``sqrt(2 / (fan_in + fan_out))`` and
  PyTorch's default ``kaiming_uniform_(a=sqrt(5))``, i.e.
  ``1 / sqrt(3 * fan_in)``, judged by the weight's standard deviation;
- the optimizer wrapper (``mmengine.optim.build_optim_wrapper``): the
  optimizer class and its effective per-group values after
  ``paramwise_cfg`` (lr, momentum, Nesterov, weight decay in PyTorch
  semantics), how many tensors / parameters get each decay, and which
  parameters are frozen (``requires_grad=False``);
- the train sampler (``DATA_SAMPLERS``, over a label-only stand-in of the
  train set when its class counts are known without data, on rank 0 of
  ``--gpus`` ranks) and a ``DataLoader`` over it, for the iterations per
  epoch;
- the parameter schedulers (``PARAM_SCHEDULERS`` with the Runner's
  ``epoch_length`` and default ``end``, so ``convert_to_iter_based`` acts),
  stepped as ``ParamSchedulerHook`` steps them (iteration-based ones after
  every iteration, epoch-based ones after every epoch);
- the train / test pipelines (``mmengine.dataset.Compose``) and the data
  preprocessor.

Nothing is read from disk except the config and checkpoints that exist:
the train set is built with ``lazy_init=True`` (its size is known when its
``metainfo['class_counts']`` is, e.g. CIFAR-LT; otherwise pass
``--train-size``). A ``Pretrained`` checkpoint that is not on this machine
(an absent file, or a URL not in the torch hub cache) is not loaded and is
reported as such; a distillation teacher whose checkpoint is absent is
built from a freshly initialised stand-in checkpoint (reported), and a
missing ``init_checkpoint`` of a previous stage is skipped (reported).

Example::

    python tools/analysis/print_recipe.py \\
        configs/ce/ce_resnet32_1xb128-200e_cifar10-lt-r100.py
    python tools/analysis/print_recipe.py \\
        configs/cbd/cbd_resnet50_1xb128-90e_imagenet-lt.py \\
        --train-size 115846 --format json
"""
import argparse
import copy
import json
import logging
import math
import os
import os.path as osp
import re
import sys
import tempfile
import time
import warnings
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import urlparse

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import ltplug  # noqa: E402,F401  (registers components, installs fixes)
from mmengine.config import Config, ConfigDict, DictAction  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.model import BaseModule  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

#: Label of PyTorch's default conv / linear init in the init tables.
DEFAULT_INIT = 'default (PyTorch)'
#: Label of a layer whose Kaiming fan_in and fan_out stds coincide.
TIE_KAIMING = 'Kaiming (fan_in = fan_out)'
#: A weight whose std is further than this factor (plus sampling noise)
#: from every candidate is reported as ``other``.
INIT_TOLERANCE = 1.15
#: Nominal iterations per epoch when the train set size is unknown.
NOMINAL_ITERS = 100
#: Keys of built parameter schedulers shown in the schedule table.
SCHEDULER_KEYS = ('start_factor', 'end_factor', 'factor', 'milestones',
                  'gamma', 'step_size', 'T_max', 'eta_min', 'eta_min_ratio',
                  'power')
#: Keys of a param group that are not hyper-parameters.
GROUP_SKIP = ('params', 'initial_lr', 'differentiable', 'foreach',
              'maximize', 'fused', 'capturable')
NAME_RE = re.compile(r'_(\d+)xb(\d+)(?:[-_]|$)')


def log(msg: str) -> None:
    """Progress line on stderr (stdout carries the report)."""
    print(f'[print_recipe] {msg}', file=sys.stderr, flush=True)


def fmt(value: Any) -> str:
    """Compact text of a number or a value."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f'{value:.6g}'
    if isinstance(value, (list, tuple)):
        return '[' + ', '.join(fmt(v) for v in value) + ']'
    return str(value)


def jsonable(value: Any) -> Any:
    """``value`` with tuples, numpy scalars and config dicts made plain."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


# ---------------------------------------------------------------- inputs
def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Print the effective recipe of a config (optimizer, '
        'batch, schedule, sampler, init, transforms) from the built pieces')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--gpus',
        type=int,
        default=None,
        help='number of GPUs (ranks); defaults to N of the config name\'s '
        '"NxbB", else 1')
    parser.add_argument(
        '--train-size',
        type=int,
        default=None,
        help='train set size, when it is not known without the data '
        '(e.g. 115846 for ImageNet-LT)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr as tools/train.py --auto-scale-lr does')
    parser.add_argument(
        '--no-init',
        action='store_true',
        help='do not call init_weights (no init section, faster)')
    parser.add_argument(
        '--format', choices=['md', 'json'], default='md', help='output')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (merged last)')
    args = parser.parse_args(argv)
    if args.gpus is not None and args.gpus < 1:
        parser.error(f'--gpus must be >= 1, but got {args.gpus}')
    if args.train_size is not None and args.train_size < 1:
        parser.error(f'--train-size must be >= 1, but got {args.train_size}')
    return args


def name_gpus_batch(path: str) -> Optional[Tuple[int, int]]:
    """``(N, B)`` of a config name's ``NxbB`` (e.g. ``4xb64``), or None."""
    match = NAME_RE.search(osp.splitext(osp.basename(path))[0])
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def checkpoint_available(path: Any) -> bool:
    """Whether ``path`` can be loaded without a download: an existing file,
    or an http(s) URL already in the torch hub cache (where MMEngine's
    ``load_from_http`` looks first). Other remote schemes count as absent.
    """
    if not isinstance(path, str) or not path:
        return False
    if path.startswith(('http://', 'https://')):
        name = osp.basename(urlparse(path).path)
        return osp.isfile(osp.join(torch.hub.get_dir(), 'checkpoints', name))
    if '://' in path:
        return False
    return osp.isfile(osp.expanduser(path))


def _repo_path(path: str) -> str:
    """``path`` as given when it exists, else relative to the repository
    root (configs name their stages' files from the repository root)."""
    if osp.isabs(path) or osp.exists(path):
        return path
    candidate = osp.join(ROOT, path)
    return candidate if osp.exists(candidate) else path


# ------------------------------------------------------------ model build
def _sanitise_cfg(cfg: Any) -> List[str]:
    """Drop unavailable ``Pretrained`` init entries and missing
    ``init_checkpoint`` values from a (teacher) model config, in place.

    Returns:
        list[str]: What was dropped.
    """
    dropped = []
    if isinstance(cfg, (list, tuple)):
        for item in cfg:
            dropped += _sanitise_cfg(item)
        return dropped
    if not isinstance(cfg, dict):
        return dropped
    init = cfg.get('init_cfg')
    if init is not None:
        entries = init if isinstance(init, (list, tuple)) else [init]
        keep = []
        for entry in entries:
            if isinstance(entry, dict) and entry.get(
                    'type') == 'Pretrained' and not checkpoint_available(
                        entry.get('checkpoint')):
                dropped.append(f'Pretrained {entry.get("checkpoint")}')
            else:
                keep.append(entry)
        if len(keep) != len(entries):
            cfg['init_cfg'] = keep or None
    ckpt = cfg.get('init_checkpoint')
    if isinstance(ckpt, str) and not osp.isfile(ckpt):
        dropped.append(f'init_checkpoint {ckpt}')
        cfg['init_checkpoint'] = None
    for key, value in cfg.items():
        if key != 'init_cfg':
            dropped += _sanitise_cfg(value)
    return dropped


def prepare_teachers(model_cfg: dict, tmpdir: str) -> List[dict]:
    """Make the distillation teachers of ``model_cfg`` buildable here.

    ``model.teacher`` (SSD) and ``model.teachers`` (CBD) are loaded from
    their checkpoints when the model is built. A teacher config given by a
    relative path is resolved from the repository root; its unavailable
    ``Pretrained`` entries are dropped (its own checkpoint overwrites them);
    a missing teacher checkpoint is replaced by one of a freshly built
    teacher (a stand-in: same keys and shapes, random weights).

    Args:
        model_cfg (dict): The model config, changed in place.
        tmpdir (str): Where stand-in checkpoints are written.

    Returns:
        list[dict]: One note per teacher (module name, name, config,
        checkpoint, ``found``).
    """
    from ltplug.models.utils.teacher import teacher_model_cfg
    specs = []
    if isinstance(model_cfg.get('teacher'), dict):
        specs.append(('teacher', model_cfg['teacher']))
    teachers = model_cfg.get('teachers')
    if isinstance(teachers, dict):
        teachers = model_cfg['teachers'] = [teachers]
    if isinstance(teachers, (list, tuple)):
        specs += [(f'teachers.{i}', t) for i, t in enumerate(teachers)
                  if isinstance(t, dict)]
    notes = []
    for module_name, spec in specs:
        config = spec.get('config')
        if isinstance(config, str):
            config = spec['config'] = _repo_path(config)
        ckpt = spec.get('checkpoint')
        if isinstance(ckpt, str):
            ckpt = _repo_path(ckpt)
        found = isinstance(ckpt, str) and osp.isfile(ckpt)
        note = dict(
            module=module_name,
            name=spec.get('name'),
            config=config if isinstance(config, str) else '<dict>',
            checkpoint=ckpt,
            found=found)
        notes.append(note)
        if config is None:
            continue
        tcfg = teacher_model_cfg(config, module_name)
        dropped = _sanitise_cfg(tcfg)
        if dropped:
            note['dropped'] = dropped
            spec['config'] = tcfg
        if found:
            spec['checkpoint'] = ckpt
            continue
        from mmpretrain.registry import MODELS
        stand_cfg = copy.deepcopy(tcfg)
        if 'init_checkpoint' in stand_cfg:
            stand_cfg['init_checkpoint'] = None
        log(f'{module_name}: checkpoint {ckpt} not found; building a '
            'freshly initialised stand-in')
        torch.manual_seed(len(notes))
        stand_in = MODELS.build(stand_cfg)
        path = osp.join(tmpdir, f'stand_in_{len(notes)}.pth')
        torch.save(dict(state_dict=stand_in.state_dict()), path)
        del stand_in
        spec['checkpoint'] = path
    return notes


def build_model(cfg: Config, tmpdir: str) -> Tuple[nn.Module, List[dict]]:
    """The model as the Runner builds it, plus the teacher notes."""
    from mmpretrain.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    if isinstance(model_cfg, ConfigDict):
        model_cfg = model_cfg.to_dict()
    # Runner: the top-level data_preprocessor fills the model's
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor',
                             copy.deepcopy(cfg.data_preprocessor))
    teachers = prepare_teachers(model_cfg, tmpdir)
    return MODELS.build(model_cfg), teachers


def disarm_unavailable_init(model: nn.Module) -> Dict[str, dict]:
    """Remove, on the built modules, the loads that cannot happen here.

    ``Pretrained`` entries of ``init_cfg`` whose checkpoint is absent are
    removed from that module's ``init_cfg``; an ``init_checkpoint``
    attribute naming an absent file is set to None.

    Returns:
        dict[str, dict]: Module name -> ``{'kind', 'checkpoint', 'found'}``
        (plus the original ``init_cfg`` for Pretrained entries) for every
        Pretrained entry / init_checkpoint seen.
    """
    notes = {}
    for name, module in model.named_modules():
        init = getattr(module, 'init_cfg', None)
        if isinstance(module, BaseModule) and init:
            entries = init if isinstance(init, (list, tuple)) else [init]
            keep = []
            for entry in entries:
                if isinstance(entry, dict) and entry.get(
                        'type') == 'Pretrained':
                    found = checkpoint_available(entry.get('checkpoint'))
                    notes[name] = dict(
                        kind='Pretrained',
                        checkpoint=entry.get('checkpoint'),
                        found=found,
                        init_cfg=copy.deepcopy(init))
                    if not found:
                        continue
                keep.append(entry)
            if len(keep) != len(entries):
                module.init_cfg = keep or None
        ckpt = getattr(module, 'init_checkpoint', None)
        if isinstance(ckpt, str):
            path = _repo_path(ckpt)
            found = osp.isfile(path)
            notes[name] = dict(
                kind='init_checkpoint', checkpoint=ckpt, found=found)
            module.init_checkpoint = path if found else None
    return notes


def _fingerprint(param: torch.Tensor) -> Tuple[float, ...]:
    """Up to 1024 evenly spaced values of ``param`` (a loaded or copied
    tensor changes them; cheaper than a full reduction)."""
    flat = param.detach().reshape(-1)
    step = max(1, flat.numel() // 1024)
    return tuple(flat[::step][:1024].tolist())


def run_init_weights(model: nn.Module) -> Tuple[Dict[str, str], List[str]]:
    """Call ``model.init_weights()`` and capture MMEngine's init record.

    MMEngine writes its per-parameter record only to the log and deletes
    it; the top-level ``_dump_init_info`` is intercepted to keep it. The
    parameters that change after that point (loaded or copied by a
    user-defined ``init_weights`` after MMEngine's init) are also listed.

    Returns:
        tuple[dict[str, str], list[str]]: Parameter name -> MMEngine's init
        info, and the names of the parameters changed after it.
    """
    info: Dict[str, str] = {}
    prints: Dict[str, Tuple[float, float]] = {}

    def dump() -> None:
        record = getattr(model, '_params_init_info', {})
        for pname, param in model.named_parameters():
            info[pname] = record.get(param, {}).get('init_info', '')
            prints[pname] = _fingerprint(param)

    model._dump_init_info = dump
    try:
        if hasattr(model, 'init_weights'):
            model.init_weights()
    finally:
        del model._dump_init_info
    changed = [
        pname for pname, param in model.named_parameters()
        if pname in prints and _fingerprint(param) != prints[pname]
    ]
    return info, changed


# ------------------------------------------------------------- init stats
def _candidates(fan_in: int, fan_out: int) -> 'OrderedDict[str, float]':
    return OrderedDict([
        ('Kaiming fan_in', math.sqrt(2. / fan_in)),
        ('Kaiming fan_out', math.sqrt(2. / fan_out)),
        ('Xavier', math.sqrt(2. / (fan_in + fan_out))),
        (DEFAULT_INIT, 1. / math.sqrt(3. * fan_in)),
    ])


def infer_weight_init(weight: torch.Tensor) -> Dict[str, Any]:
    """The init whose std is closest to that of a conv / linear weight.

    Candidates (std for fans computed as PyTorch does, grouped convs
    included): Kaiming fan_in ``sqrt(2 / fan_in)`` and fan_out
    ``sqrt(2 / fan_out)`` (gain sqrt(2), normal or uniform alike), Xavier
    ``sqrt(2 / (fan_in + fan_out))`` and PyTorch's default
    ``kaiming_uniform_(a=sqrt(5))``, std ``1 / sqrt(3 * fan_in)``.
    Candidates closer to the best one than 5% or twice the standard error
    of the measured std (small tensors) cannot be told apart and are
    reported together, best first (both Kaiming modes when
    ``fan_in == fan_out`` read ``Kaiming (fan_in = fan_out)``); a std
    further than ``INIT_TOLERANCE`` (plus 3 standard errors) from every
    candidate is ``other (std ...)``, a constant tensor ``constant``.

    Args:
        weight (Tensor): A weight with at least 2 dimensions.

    Returns:
        dict: ``label``, ``std`` (measured), ``expected`` (std of the
        label's candidate, None for other / constant), ``fan_in``,
        ``fan_out``.
    """
    if weight.dim() < 2:
        raise ValueError('infer_weight_init needs a weight with >= 2 '
                         f'dimensions, but got shape {tuple(weight.shape)}')
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(weight)
    data = weight.detach().float()
    std = float(data.std()) if data.numel() > 1 else 0.
    out = dict(std=std, fan_in=int(fan_in), fan_out=int(fan_out))
    if std == 0.:
        out.update(label=f'constant {float(data.flatten()[0]):.6g}',
                   expected=None)
        return out
    cands = _candidates(fan_in, fan_out)
    dist = {k: abs(math.log(std / v)) for k, v in cands.items()}
    best = min(dist, key=dist.get)
    # relative standard error of a sample std
    noise = 1. / math.sqrt(2. * max(data.numel() - 1, 1))
    if dist[best] > math.log(INIT_TOLERANCE) + 3. * noise:
        out.update(label=f'other (std {std:.3g})', expected=None)
        return out
    window = max(math.log(1.05), 2. * noise)
    ties = sorted(
        (k for k in cands
         if k == best or abs(math.log(cands[k] / cands[best])) < window),
        key=dist.get)
    if sorted(ties) == ['Kaiming fan_in', 'Kaiming fan_out']:
        label = TIE_KAIMING
    else:
        label = ' or '.join(ties)
    out.update(label=label, expected=cands[best], options=ties)
    return out


def weight_layers(module: nn.Module,
                  prefix: str = '') -> Iterator[Tuple[str, torch.Tensor]]:
    """``(name, weight)`` of every conv / linear layer under ``module``."""
    for name, sub in module.named_modules(prefix=prefix):
        if isinstance(sub, (nn.modules.conv._ConvNd, nn.Linear)) and \
                getattr(sub, 'weight', None) is not None:
            yield name, sub.weight


def summarise_labels(results: Sequence[dict]) -> str:
    """One verdict for a module from its layers' :func:`infer_weight_init`
    results.

    A layer whose candidates coincide (e.g. ``Kaiming (fan_in = fan_out)``)
    does not decide between them: it counts for the one definite label of
    the module among its options, when there is exactly one. A module of
    ``Kaiming fan_out`` and ``Kaiming (fan_in = fan_out)`` layers is
    ``Kaiming fan_out``.
    """
    if not results:
        return 'no conv / linear weight'
    counts: Dict[str, int] = {}
    for r in results:
        counts[r['label']] = counts.get(r['label'], 0) + 1
    definite = {r['label'] for r in results if len(r.get('options', ())) == 1}
    for r in results:
        opts = r.get('options', ())
        if len(opts) < 2 or r['label'] not in counts:
            continue
        hits = [o for o in opts if o in definite]
        if len(hits) == 1:
            counts[hits[0]] += counts.pop(r['label'])
    if len(counts) == 1:
        return next(iter(counts))
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    return 'mixed: ' + ', '.join(f'{k} x{n}' for k, n in ranked)


def _short_info(text: str) -> str:
    """MMEngine's init info in a few words."""
    text = ' '.join(text.split())
    if text.startswith('The value is the same before and after'):
        return 'not changed by init_weights (construction-time values)'
    if text.startswith('PretrainedInit: load from'):
        return 'Pretrained ' + text[len('PretrainedInit: load from'):].strip()
    if text.startswith('Initialized by user-defined `init_weights` in'):
        return 'user-defined init_weights of ' + text.split()[-1]
    return text


def _skipped_init_cfgs(module: nn.Module, model: nn.Module, prefix: str,
                       original: Dict[str, Any]) -> List[str]:
    """``init_cfg``s under ``module`` that ``init_weights`` never applied,
    with the type of the parent that did not pass the call on.

    Args:
        module (nn.Module): A top-level module of ``model``.
        model (nn.Module): The model.
        prefix (str): The name of ``module`` in ``model``.
        original (dict[str, Any]): Module name -> its ``init_cfg`` before
            unavailable Pretrained entries were removed.
    """
    parents = {}
    for name, sub in model.named_modules():
        for child_name, child in sub.named_children():
            parents[f'{name}.{child_name}' if name else child_name] = sub
    found = []
    for name, sub in module.named_modules(prefix=prefix):
        init = original.get(name) or getattr(sub, 'init_cfg', None)
        if isinstance(sub, BaseModule) and init and not sub.is_init:
            parent = parents.get(name)
            init = init if isinstance(init, (list, tuple)) else [init]
            kinds = '+'.join(
                str(e.get('type')) for e in init if isinstance(e, dict))
            found.append(f'{name} ({type(sub).__name__}: {kinds}; parent '
                         f'{type(parent).__name__ if parent else "-"})')
    # only the outermost skipped module of each subtree
    return [
        f for f in found
        if not any(f != g and f.startswith(g.split(' ')[0] + '.')
                   for g in found)
    ]


def _load_verdict(name: str, pnames: List[str], info: Dict[str, str],
                  load_notes: Dict[str, dict], skipped: set, n_changed: int,
                  model_type: str, init_checkpoint: Optional[str],
                  load_prefixes: Optional[Sequence[str]]
                  ) -> Tuple[str, bool]:
    """What was (or was not) loaded into the top-level module ``name``.

    Returns:
        tuple[str, bool]: The text ('' if nothing was to be loaded) and
        whether the loads cover every parameter of the module.
    """
    groups: 'OrderedDict[tuple, List[str]]' = OrderedDict()
    loaded_params = set()
    for key, note in sorted(load_notes.items()):
        if key == '':
            # the model's own init_checkpoint: the parameters under its
            # load_prefixes (all when it has none)
            prefixes = tuple(load_prefixes or ('', ))
            under = [p for p in pnames if p.startswith(prefixes)]
            if not under:
                continue
        elif key != name and not key.startswith(name + '.'):
            continue
        else:
            under = [p for p in pnames if p.startswith(key + '.')]
        if note['kind'] == 'Pretrained':
            applied = [
                p for p in under
                if _short_info(info.get(p, '')).startswith('Pretrained ')
            ]
            loaded_params.update(applied)
            if not note['found']:
                status = 'not found, not loaded'
            elif key in skipped or any(
                    key.startswith(k + '.') for k in skipped):
                status = 'found, never loaded: init_cfg skipped'
            elif applied:
                # PretrainedInit loads the module's whole state dict;
                # MMEngine marks only the tensors whose mean changed
                status = 'loaded'
                if len(applied) < len(under):
                    status += (f' ({len(applied)}/{len(under)} tensors '
                               'changed by it)')
                loaded_params.update(under)
            else:
                status = 'found, nothing loaded'
            kind = 'Pretrained'
        else:
            kind = 'init_checkpoint'
            status = 'loaded by init_weights' if note['found'] else \
                'not found, not loaded'
            if note['found']:
                loaded_params.update(under)
            if len(under) < len(pnames):
                status += f' ({len(under)}/{len(pnames)} tensors)'
        groups.setdefault((kind, str(note['checkpoint']), status),
                          []).append(key or name)
    parts = []
    for (kind, ckpt, status), keys in groups.items():
        where = '' if keys == [name] else ' (' + ', '.join(keys) + ')'
        parts.append(f'{kind} {ckpt}{where}: {status}')
    if n_changed and not any(k[0] == 'init_checkpoint' for k in groups):
        src = f' from {init_checkpoint}' if init_checkpoint else ''
        parts.append(f'set by {model_type}.init_weights after MMEngine\'s '
                     f'init (loaded / copied{src}; {n_changed}/'
                     f'{len(pnames)} tensors changed)')
    if not parts:
        mm = sorted({_short_info(info.get(p, '')) for p in pnames})
        if pnames and all(m.startswith('Pretrained ') for m in mm):
            return '; '.join(mm), True
        return '', False
    return '; '.join(parts), bool(pnames) and set(pnames) <= loaded_params


def init_section(model: nn.Module, info: Dict[str, str], changed: List[str],
                 load_notes: Dict[str, dict],
                 teachers: List[dict]) -> List[dict]:
    """One row per top-level module (one per teacher) describing its init.

    Args:
        model (nn.Module): The initialised model.
        info (dict[str, str]): MMEngine's per-parameter init info.
        changed (list[str]): Parameters changed after MMEngine's init.
        load_notes (dict[str, dict]): From :func:`disarm_unavailable_init`.
        teachers (list[dict]): From :func:`prepare_teachers`.

    Returns:
        list[dict]: Rows with ``module``, ``type``, ``params``, ``frozen``,
        ``init`` (the verdict), ``weights`` (the statistics' verdict),
        ``layers`` (label counts), ``mmengine`` (distinct init infos),
        ``notes``.
    """
    teacher_by_module = {t['module']: t for t in teachers}
    units: List[Tuple[str, nn.Module]] = []
    for name, child in model.named_children():
        if not any(True for _ in child.parameters()):
            continue
        if name == 'teachers' and isinstance(child, nn.ModuleList):
            units += [(f'teachers.{i}', t) for i, t in enumerate(child)]
        else:
            units.append((name, child))
    owner_of = getattr(model, 'init_checkpoint', None)
    rows = []
    for name, module in units:
        pnames = [f'{name}.{n}' for n, _ in module.named_parameters()]
        params = list(module.parameters())
        numel = sum(p.numel() for p in params)
        frozen = sum(p.numel() for p in params if not p.requires_grad)
        if isinstance(module, nn.ModuleList) and len(module):
            kinds = sorted({type(m).__name__ for m in module})
            mtype = f'ModuleList[{len(module)} x {"/".join(kinds)}]'
        else:
            mtype = type(module).__name__
        layers = [(n, infer_weight_init(w))
                  for n, w in weight_layers(module, name)]
        labels = [r['label'] for _, r in layers]
        weights = summarise_labels([r for _, r in layers])
        counts: Dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        mm = sorted({_short_info(info.get(p, '')) for p in pnames} - {''})
        notes = []
        original = {
            k: v['init_cfg']
            for k, v in load_notes.items() if 'init_cfg' in v
        }
        skipped = _skipped_init_cfgs(module, model, name, original)
        if skipped:
            notes.append('init_cfg never applied (init_weights not '
                         'reached): ' + '; '.join(skipped))
        skipped_names = {f.split(' ')[0] for f in skipped}
        n_changed = sum(1 for p in pnames if p in changed)
        teacher = teacher_by_module.get(name)
        if teacher is not None:
            tag = f' "{teacher["name"]}"' if teacher.get('name') else ''
            if teacher['found']:
                verdict = (f'Teacher{tag} checkpoint {teacher["checkpoint"]}'
                           ' (loaded at build)')
            else:
                verdict = (f'Teacher{tag} checkpoint {teacher["checkpoint"]}'
                           ' (not found, not loaded: a freshly initialised '
                           f'stand-in; weights {weights})')
            rows.append(
                dict(module=name, type=mtype, params=numel, frozen=frozen,
                     init=verdict, weights=weights, layers=counts,
                     mmengine=mm, notes=notes))
            continue
        verdict, complete = _load_verdict(name, pnames, info, load_notes,
                                          skipped_names, n_changed,
                                          type(model).__name__, owner_of,
                                          getattr(model, 'load_prefixes',
                                                  None))
        if not verdict:
            verdict = weights
        elif not complete:
            verdict += f'; weights: {weights}'
        if skipped:
            verdict += ' [init_cfg skipped]'
        rows.append(
            dict(module=name, type=mtype, params=numel, frozen=frozen,
                 init=verdict, weights=weights, layers=counts, mmengine=mm,
                 notes=notes))
    return rows


# -------------------------------------------------------------- optimizer
def _param_names(model: nn.Module) -> Dict[int, str]:
    return {id(p): n for n, p in model.named_parameters()}


def _top(name: str) -> str:
    return name.split('.')[0]


def optimizer_section(model: nn.Module, optim_wrapper: Any,
                      scaled: Optional[float]) -> dict:
    """Effective optimizer settings from the built optimizer.

    Args:
        model (nn.Module): The model the optimizer was built over.
        optim_wrapper: The built optimizer wrapper.
        scaled (float, optional): The auto-scale-lr ratio applied, if any.

    Returns:
        dict: ``wrapper``, ``optimizer``, ``defaults``, ``groups`` (one row
        per distinct hyper-parameter set: tensors, parameters, frozen
        tensors), ``decay`` (rows: weight decay, tensors, parameters, top
        modules), ``not_in_optimizer``, ``semantics``.
    """
    optimizer = optim_wrapper.optimizer
    names = _param_names(model)
    merged: 'OrderedDict[tuple, dict]' = OrderedDict()
    seen = set()
    for group in optimizer.param_groups:
        hyper = {
            k: v
            for k, v in group.items() if k not in GROUP_SKIP
        }
        key = tuple(sorted((k, repr(v)) for k, v in hyper.items()))
        row = merged.setdefault(
            key,
            dict(hyper={k: jsonable(v)
                        for k, v in hyper.items()},
                 tensors=0, params=0, frozen_tensors=0, modules={}))
        for p in group['params']:
            seen.add(id(p))
            row['tensors'] += 1
            row['params'] += p.numel()
            row['frozen_tensors'] += int(not p.requires_grad)
            top = _top(names.get(id(p), '?'))
            row['modules'][top] = row['modules'].get(top, 0) + 1
    groups = list(merged.values())
    decay: 'OrderedDict[float, dict]' = OrderedDict()
    for row in groups:
        wd = row['hyper'].get('weight_decay', 0.)
        d = decay.setdefault(
            wd, dict(weight_decay=wd, tensors=0, params=0, modules={},
                     trainable_tensors=0, trainable_params=0))
        d['tensors'] += row['tensors']
        d['params'] += row['params']
        d['trainable_tensors'] += row['tensors'] - row['frozen_tensors']
        for k, v in row['modules'].items():
            d['modules'][k] = d['modules'].get(k, 0) + v
    for group in optimizer.param_groups:
        wd = group.get('weight_decay', 0.)
        for p in group['params']:
            if p.requires_grad:
                decay[wd]['trainable_params'] += p.numel()
    left_out = [(n, p) for n, p in model.named_parameters()
                if id(p) not in seen]
    missing_trainable = [n for n, p in left_out if p.requires_grad]
    cls = type(optimizer).__name__
    if cls in ('SGD', 'RMSprop', 'Adam', 'Adagrad', 'NAdam', 'RAdam'):
        semantics = ('coupled L2: the step adds weight_decay * param to the '
                     'gradient (penalty weight_decay / 2 * ||param||^2)')
    elif cls in ('AdamW', 'LAMB', 'Lion'):
        semantics = ('decoupled: param -= lr * weight_decay * param at '
                     'every step')
    else:
        semantics = f'as {cls} defines weight_decay'
    return dict(
        wrapper=type(optim_wrapper).__name__,
        optimizer=cls,
        defaults={
            k: jsonable(v)
            for k, v in optimizer.defaults.items()
            if k in ('lr', 'momentum', 'nesterov', 'weight_decay',
                     'dampening', 'betas', 'eps')
        },
        auto_scale_lr_ratio=scaled,
        groups=[jsonable(g) for g in groups],
        decay=[jsonable(d) for d in decay.values()],
        not_in_optimizer=dict(
            tensors=len(left_out),
            params=sum(p.numel() for _, p in left_out),
            trainable=missing_trainable[:20],
            trainable_count=len(missing_trainable),
            modules=sorted({_top(n)
                            for n, _ in left_out})),
        semantics=semantics)


def frozen_section(model: nn.Module, optim_wrapper: Any) -> List[dict]:
    """Frozen (``requires_grad=False``) parameters per top-level module."""
    in_optim = {
        id(p)
        for g in optim_wrapper.optimizer.param_groups for p in g['params']
    }
    rows: 'OrderedDict[str, dict]' = OrderedDict()
    for name, p in model.named_parameters():
        top = _top(name)
        row = rows.setdefault(
            top, dict(module=top, tensors=0, params=0, frozen_tensors=0,
                      frozen_params=0, frozen_in_optimizer=0))
        row['tensors'] += 1
        row['params'] += p.numel()
        if not p.requires_grad:
            row['frozen_tensors'] += 1
            row['frozen_params'] += p.numel()
            row['frozen_in_optimizer'] += int(id(p) in in_optim)
    return list(rows.values())


# ------------------------------------------------------------------- data
class _LabelsOnly:
    """A train-set stand-in carrying only labels (for building samplers).

    Args:
        counts (Sequence[int]): Images per class.
        metainfo (dict): The real dataset's metainfo.
    """

    def __init__(self, counts: Sequence[int], metainfo: dict) -> None:
        self.labels = np.repeat(
            np.arange(len(counts), dtype=np.int64), np.asarray(counts))
        self.metainfo = dict(metainfo)

    def __len__(self) -> int:
        return int(self.labels.size)

    def __getitem__(self, idx: int) -> dict:
        return dict(gt_label=int(self.labels[idx]))

    def full_init(self) -> None:
        """Nothing to load."""

    def get_gt_labels(self) -> np.ndarray:
        """Every label."""
        return self.labels

    def get_cat_ids(self, idx: int) -> List[int]:
        """The label of ``idx`` as a list."""
        return [int(self.labels[idx])]


def _lazy(cfg: Any) -> Any:
    """Dataset config with ``lazy_init=True`` at every level."""
    if isinstance(cfg, dict):
        cfg = dict(cfg)
        if 'type' in cfg:
            cfg['lazy_init'] = True
        for key in ('dataset', 'datasets'):
            if key in cfg:
                value = cfg[key]
                cfg[key] = [_lazy(v) for v in value] if isinstance(
                    value, (list, tuple)) else _lazy(value)
    return cfg


def train_set_size(
        cfg: Config) -> Tuple[Optional[List[int]], dict, str, Optional[int]]:
    """Class counts of the train set if knowable without its data.

    The train set is built with ``lazy_init=True`` (nothing is loaded);
    its ``metainfo['class_counts']`` is used when it is already set.

    Returns:
        tuple: ``(counts or None, metainfo, how, num_classes or None)``.
    """
    from mmpretrain.registry import DATASETS

    from ltplug.datasets.utils import CLASS_COUNTS_KEY
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg = ds_cfg.to_dict() if isinstance(ds_cfg, ConfigDict) else dict(
        ds_cfg)
    if ds_cfg.get('indices') is not None:
        return None, {}, 'unknown (the dataset takes `indices`)', None
    try:
        dataset = DATASETS.build(_lazy(ds_cfg))
    except Exception as e:  # noqa: BLE001  (reported, not raised)
        return None, {}, f'unknown ({type(e).__name__}: {e})', None
    if hasattr(dataset, 'dataset') or hasattr(dataset, 'datasets'):
        return None, {}, (f'unknown (dataset wrapper {type(dataset).__name__}'
                          ')'), None
    meta = dict(getattr(dataset, 'metainfo', {}) or {})
    num_classes = getattr(dataset, 'num_classes', None) or len(
        meta.get('classes') or []) or None
    counts = meta.get(CLASS_COUNTS_KEY)
    if counts is None:
        return None, meta, (f'unknown ({type(dataset).__name__} knows its '
                            'class counts only once its list is loaded)'), \
            num_classes
    return [int(c) for c in counts], meta, \
        f"{type(dataset).__name__}.metainfo['class_counts'] (lazy_init)", \
        len(counts)


@contextmanager
def _world(world_size: int) -> Iterator[None]:
    """Make ``get_dist_info()`` report rank 0 of ``world_size`` in the
    modules that imported it (mmengine.dist and every sampler module)."""
    fake = lambda *a, **k: (0, world_size)  # noqa: E731
    patched = []
    for mod_name in list(sys.modules):
        if not mod_name.startswith(('mmengine', 'mmpretrain', 'ltplug')):
            continue
        mod = sys.modules.get(mod_name)
        if mod is not None and getattr(mod, 'get_dist_info',
                                       None) is not None:
            patched.append((mod, mod.get_dist_info))
    try:
        for mod, _ in patched:
            mod.get_dist_info = fake
        yield
    finally:
        for mod, orig in patched:
            mod.get_dist_info = orig


def data_section(cfg: Config, gpus: int, name_gb: Optional[Tuple[int, int]],
                 train_size: Optional[int]) -> dict:
    """Batch, dataset size, sampler and iterations per epoch.

    The sampler is built from ``DATA_SAMPLERS`` over a label-only stand-in
    of the train set (the Runner's ``dataset`` / ``seed`` default args) as
    rank 0 of ``gpus`` ranks, and a ``DataLoader`` with the config's batch
    size and ``drop_last`` gives ``len(train_dataloader)``.
    """
    from mmpretrain.registry import DATA_SAMPLERS
    from torch.utils.data import DataLoader
    loader = cfg.train_dataloader
    batch = int(loader.batch_size)
    drop_last = bool(loader.get('drop_last', False))
    sampler_cfg = loader.get('sampler') or dict(type='DefaultSampler')
    sampler_cfg = sampler_cfg.to_dict() if isinstance(
        sampler_cfg, ConfigDict) else dict(sampler_cfg)
    counts, meta, how, num_classes = train_set_size(cfg)
    counts_known = counts is not None
    if train_size is not None and (counts is None
                                   or sum(counts) != train_size):
        if counts is not None:
            how = (f'--train-size {train_size} (overrides {sum(counts)} '
                   f'from {how})')
        else:
            how = f'--train-size (the dataset: {how})'
        # a label-only stand-in needs classes: an equal split
        n_cls = num_classes or 1
        counts = [train_size // n_cls] * n_cls
        for i in range(train_size - sum(counts)):
            counts[i] += 1
        counts_known = False
        how += (f'; class counts unknown: an equal split over {n_cls} '
                'classes is assumed for the sampler')
    out = dict(
        gpus=gpus,
        batch_per_gpu=batch,
        global_batch=gpus * batch,
        name_gpus_batch=list(name_gb) if name_gb else None,
        drop_last=drop_last,
        dataset=loader.dataset.get('type'),
        train_size=sum(counts) if counts else None,
        train_size_source=how,
        num_classes=num_classes,
        max_count=max(counts) if counts_known else None,
        min_count=min(counts) if counts_known else None,
        sampler=dict(
            type=sampler_cfg.get('type'),
            args={k: jsonable(v)
                  for k, v in sampler_cfg.items() if k != 'type'}),
        sampler_len_per_rank=None,
        epoch_samples=None,
        iters_per_epoch=None)
    if counts is None:
        return out
    stand_in = _LabelsOnly(counts, meta)
    seed = (cfg.get('randomness') or {}).get('seed', 0) or 0
    with _world(gpus), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        sampler = DATA_SAMPLERS.build(
            copy.deepcopy(sampler_cfg),
            default_args=dict(dataset=stand_in, seed=seed))
    per_rank = len(sampler)
    dl = DataLoader(stand_in, batch_size=batch, sampler=sampler,
                    drop_last=drop_last, num_workers=0)
    out['sampler']['built'] = type(sampler).__name__
    out['sampler_len_per_rank'] = per_rank
    out['epoch_samples'] = per_rank * gpus
    out['iters_per_epoch'] = len(dl)
    return out


# --------------------------------------------------------------- schedule
def _scheduler_row(sched: Any, cfg: dict) -> dict:
    row = dict(
        type=type(sched).__name__,
        param=getattr(sched, 'param_name', '?'),
        by_epoch=bool(sched.by_epoch),
        converted=bool(cfg.get('convert_to_iter_based', False)),
        begin=sched.begin,
        end=sched.end if sched.end < 2**62 else None)
    for key in SCHEDULER_KEYS:
        if hasattr(sched, key):
            value = getattr(sched, key)
            if key == 'milestones':
                value = sorted(value)
            if value is not None:
                row[key] = jsonable(value)
    return row


def schedule_section(cfg: Config, optim_wrapper: Any,
                     iters_per_epoch: Optional[int]) -> dict:
    """Build the param schedulers as the Runner does and step them as
    ``ParamSchedulerHook`` does; the lr of the first iteration of every
    epoch (and of the last iteration) is recorded.

    Args:
        cfg (Config): The config.
        optim_wrapper: The built optimizer wrapper (its lr is changed).
        iters_per_epoch (int, optional): ``len(train_dataloader)``; None
            when unknown (a nominal value is then used, see the output).

    Returns:
        dict: ``schedulers`` (built, as rows), ``iters_per_epoch`` and
        whether it is nominal, ``max_epochs``, ``lr_by_epoch`` (a list per
        epoch of each distinct group lr), ``lr_last_iter``, ``probes``.
    """
    from mmpretrain.registry import PARAM_SCHEDULERS
    train_cfg = cfg.get('train_cfg') or {}
    by_epoch = train_cfg.get('by_epoch', True) and \
        train_cfg.get('type', 'EpochBasedTrainLoop') != 'IterBasedTrainLoop'
    nominal = iters_per_epoch is None
    ipe = NOMINAL_ITERS if nominal else int(iters_per_epoch)
    if by_epoch:
        max_epochs = int(train_cfg.get('max_epochs'))
        max_iters = max_epochs * ipe
    else:
        max_iters = int(train_cfg.get('max_iters'))
        max_epochs = max(1, math.ceil(max_iters / ipe))
    sched_cfgs = cfg.get('param_scheduler')
    if sched_cfgs is None:
        sched_cfgs = []
    elif isinstance(sched_cfgs, dict):
        sched_cfgs = [sched_cfgs]
    schedulers, rows = [], []
    for scfg in sched_cfgs:
        scfg = copy.deepcopy(
            scfg.to_dict() if isinstance(scfg, ConfigDict) else dict(scfg))
        # the Runner's default end: max epochs / iterations of the loop
        scfg.setdefault(
            'end', max_epochs if scfg.get('by_epoch', True) else max_iters)
        built = PARAM_SCHEDULERS.build(
            copy.deepcopy(scfg),
            default_args=dict(optimizer=optim_wrapper, epoch_length=ipe))
        schedulers.append(built)
        rows.append(_scheduler_row(built, scfg))
    groups = optim_wrapper.optimizer.param_groups

    def lrs() -> List[float]:
        # the distinct group lrs, in group order
        return list(OrderedDict.fromkeys(float(g['lr']) for g in groups))

    lr_by_epoch = []
    total = max_epochs * ipe
    iter_based = [s for s in schedulers if not s.by_epoch]
    epoch_based = [s for s in schedulers if s.by_epoch]
    start = time.time()
    last_lr = lrs()
    with warnings.catch_warnings():
        # stepping without optimizer.step() (no training here)
        warnings.simplefilter('ignore', UserWarning)
        step = 0
        for epoch in range(max_epochs):
            lr_by_epoch.append(lrs())
            n_iters = ipe if by_epoch else min(ipe, max_iters - step)
            for i in range(n_iters):
                if epoch == max_epochs - 1 and i == n_iters - 1:
                    last_lr = lrs()
                for s in iter_based:
                    s.step()
                step += 1
            for s in epoch_based:
                s.step()
            if total > 200000 and time.time() - start > 5 and \
                    epoch % max(1, max_epochs // 10) == 0:
                log(f'schedule: epoch {epoch + 1}/{max_epochs}')
    flat = [v[0] for v in lr_by_epoch]
    peak = max(flat) if flat else None
    probes = OrderedDict()

    def probe(e: int, why: str) -> None:
        if 0 <= e < len(flat):
            probes.setdefault(e, [])
            if why not in probes[e]:
                probes[e].append(why)

    probe(0, 'first')
    first_peak = flat.index(peak) if flat else 0
    if first_peak > 0:
        probe(first_peak, 'first at peak lr (warm-up over)')
    for e in range(1, len(flat)):
        # a step: a jump after an epoch at a constant lr (not a decay)
        prev, cur = flat[e - 1], flat[e]
        flat_before = e == 1 or math.isclose(flat[e - 2], prev)
        if prev > 0 and cur > 0 and flat_before and (cur / prev < 0.5
                                                     or cur / prev > 2):
            probe(e, f'step x{cur / prev:.3g}')
    probe(len(flat) // 2, 'middle')
    probe(len(flat) - 1, 'last')
    probe_rows = [
        dict(epoch=e, iteration=e * ipe, lr=lr_by_epoch[e], why=probes[e])
        for e in sorted(probes)
    ]
    return dict(
        schedulers=rows,
        iters_per_epoch=ipe,
        nominal_iters_per_epoch=nominal,
        max_epochs=max_epochs if by_epoch else None,
        max_iters=max_iters,
        lr_by_epoch=lr_by_epoch,
        lr_last_iter=last_lr,
        peak_lr=peak,
        probes=probe_rows)


# ----------------------------------------------------------- transforms
def _fmt_value(value: Any, depth: int = 0) -> str:
    if isinstance(value, dict) and 'type' in value:
        return _fmt_transform(value, depth + 1)
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) and 'type' in v for v in value):
            return '[' + ', '.join(
                _fmt_transform(v, depth + 1) for v in value) + ']'
        if value and all(isinstance(v, (list, tuple)) for v in value) and \
                any(isinstance(x, dict) for v in value for x in v):
            if all(
                    all(isinstance(x, dict) and 'type' in x for x in v)
                    for v in value) and len(value) <= 3:
                return '[' + '; '.join(
                    _fmt_value(list(v), depth + 1) for v in value) + ']'
            return f'<{len(value)} sub-policies>'
        if len(value) > 8:
            return f'<{len(value)} items>'
    text = fmt(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + '...'


def _fmt_transform(tcfg: dict, depth: int = 0) -> str:
    args = ', '.join(f'{k}={_fmt_value(v, depth)}' for k, v in tcfg.items()
                     if k != 'type')
    return f'{tcfg["type"]}({args})'


def pipeline_rows(pipeline: Sequence[dict]) -> List[dict]:
    """Build the pipeline (``mmengine.dataset.Compose``) and describe each
    transform: the built class and the arguments it was given."""
    from mmengine.dataset import Compose
    plain = [
        t.to_dict() if isinstance(t, ConfigDict) else dict(t)
        for t in pipeline
    ]
    built = Compose(copy.deepcopy(plain)).transforms
    if len(built) != len(plain):
        raise RuntimeError(f'pipeline built {len(built)} transforms from '
                           f'{len(plain)} configs')
    return [
        dict(type=type(b).__name__,
             args={k: jsonable(v)
                   for k, v in p.items() if k != 'type'},
             text=_fmt_transform(dict(p, type=type(b).__name__)))
        for b, p in zip(built, plain)
    ]


def transforms_section(cfg: Config, model: nn.Module) -> dict:
    """Train / val / test pipelines and the model's data preprocessor."""
    out = {}
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        pipeline = loader.get('dataset', {}).get('pipeline')
        if pipeline is None:
            continue
        out[split] = pipeline_rows(pipeline)
    if 'val' in out and out.get('val') == out.get('test'):
        out.pop('val')
    pre = getattr(model, 'data_preprocessor', None)
    pre_row = dict(type=type(pre).__name__ if pre is not None else None)
    if pre is not None:
        enabled = bool(getattr(pre, '_enable_normalize', False))
        pre_row['normalise'] = enabled
        if enabled:
            pre_row['mean'] = [
                round(float(v), 4) for v in pre.mean.flatten()
            ]
            pre_row['std'] = [round(float(v), 4) for v in pre.std.flatten()]
        # ClsDataPreprocessor keeps ``to_rgb``; the MMEngine-style ones
        # (SelfSupDataPreprocessor) ``_channel_conversion``
        pre_row['to_rgb'] = bool(
            getattr(pre, 'to_rgb', False)
            or getattr(pre, '_channel_conversion', False))
    out['data_preprocessor'] = pre_row
    return out


# ---------------------------------------------------------------- collect
@contextmanager
def _quiet_logger() -> Iterator[None]:
    """Keep MMEngine's logger to errors (init records, skipped frozen
    parameters: the report carries them)."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def collect(args: argparse.Namespace) -> dict:
    """Build everything and return the report as a JSON-able dict."""
    with _quiet_logger():
        return _collect(args)


def _collect(args: argparse.Namespace) -> dict:
    start = time.time()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    name_gb = name_gpus_batch(args.config)
    gpus = args.gpus or (name_gb[0] if name_gb else 1)
    report: Dict[str, Any] = dict(
        config=args.config,
        gpus=gpus,
        gpus_source='--gpus' if args.gpus else
        ('config name' if name_gb else 'default'))
    with tempfile.TemporaryDirectory() as tmpdir:
        log(f'building the model of {osp.basename(args.config)}')
        model, teachers = build_model(cfg, tmpdir)
    report['model'] = dict(type=type(model).__name__)
    load_notes = disarm_unavailable_init(model)
    if args.no_init:
        report['init'] = None
    else:
        log('init_weights')
        info, changed = run_init_weights(model)
        report['init'] = init_section(model, info, changed, load_notes,
                                      teachers)
    report['teachers'] = teachers

    log('optimizer wrapper')
    optim_wrapper = build_optim_wrapper(model, copy.deepcopy(
        cfg.optim_wrapper))
    data = data_section(cfg, gpus, name_gb, args.train_size)
    report['data'] = data
    ratio = None
    scale = cfg.get('auto_scale_lr')
    report['auto_scale_lr'] = dict(
        base_batch_size=scale.get('base_batch_size') if scale else None,
        applied=bool(args.auto_scale_lr or (scale or {}).get('enable')))
    if report['auto_scale_lr']['applied']:
        if not scale or 'base_batch_size' not in scale:
            raise ValueError('--auto-scale-lr needs auto_scale_lr.'
                             f'base_batch_size in {args.config}')
        # Runner.scale_lr: world size x per-rank batch over the base
        ratio = float(data['global_batch']) / float(scale['base_batch_size'])
        for group in optim_wrapper.optimizer.param_groups:
            group['lr'] = group['lr'] * ratio
    report['optimizer'] = optimizer_section(model, optim_wrapper, ratio)
    report['frozen'] = frozen_section(model, optim_wrapper)
    log('param schedulers')
    report['schedule'] = schedule_section(cfg, optim_wrapper,
                                          data['iters_per_epoch'])
    report['transforms'] = transforms_section(cfg, model)
    report['seconds'] = round(time.time() - start, 2)
    return jsonable(report)


# --------------------------------------------------------------- markdown
def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        return (v if isinstance(v, str) else fmt(v)).replace('|', '\\|')

    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join('---' for _ in header) + '|']
    lines += ['| ' + ' | '.join(cell(v) for v in r) + ' |' for r in rows]
    return '\n'.join(lines)


def _lr_text(lrs: Sequence[float]) -> str:
    uniq = list(OrderedDict.fromkeys(fmt(v) for v in lrs))
    return uniq[0] if len(uniq) == 1 else ' / '.join(uniq)


def _train_set_text(d: dict) -> str:
    text = f'{d["dataset"]}: '
    if d['train_size']:
        text += f'{d["train_size"]} images'
        if d['num_classes']:
            text += f', {d["num_classes"]} classes'
        if d['max_count'] is not None:
            text += f' ({d["max_count"]} .. {d["min_count"]} per class)'
    else:
        text += 'size unknown'
    return text + f' [{d["train_size_source"]}]'


def _sampler_text(sampler: dict) -> str:
    args = ', '.join(f'{k}={fmt(v)}' for k, v in sampler['args'].items())
    return f'{sampler["type"]}({args})'


def to_markdown(report: dict) -> str:
    """The report as markdown: a table per section."""
    out = [f'# Recipe: `{report["config"]}`', '']
    d = report['data']
    opt = report['optimizer']
    sch = report['schedule']
    out += ['## Optimizer', '']
    dflt = opt['defaults']
    out.append(
        _table(['wrapper', 'optimizer', 'lr', 'momentum', 'nesterov',
                'weight_decay'],
               [[opt['wrapper'], opt['optimizer'], dflt.get('lr'),
                 dflt.get('momentum'), dflt.get('nesterov'),
                 dflt.get('weight_decay')]]))
    if opt.get('auto_scale_lr_ratio'):
        out += ['', f'lr scaled by x{fmt(opt["auto_scale_lr_ratio"])} '
                '(auto_scale_lr, global batch / base_batch_size).']
    out += ['', 'Effective parameter groups (after paramwise_cfg):', '']
    rows = []
    for g in opt['groups']:
        h = g['hyper']
        rows.append([
            h.get('lr'), h.get('momentum'), h.get('nesterov'),
            h.get('weight_decay'), g['tensors'], g['params'],
            g['frozen_tensors'],
            ', '.join(f'{k} {v}' for k, v in g['modules'].items())
        ])
    out.append(
        _table(['lr', 'momentum', 'nesterov', 'weight_decay', 'tensors',
                'params', 'frozen tensors', 'tensors per module'], rows))
    out += ['', f'Weight decay ({opt["semantics"]}):', '']
    out.append(
        _table(['weight_decay', 'tensors', 'params', 'trainable tensors',
                'trainable params'],
               [[r['weight_decay'], r['tensors'], r['params'],
                 r['trainable_tensors'], r['trainable_params']]
                for r in opt['decay']]))
    left = opt['not_in_optimizer']
    out += ['', f'Not in the optimizer: {left["tensors"]} tensors '
            f'({left["params"]} params'
            + (f'; modules {", ".join(left["modules"])}'
               if left['modules'] else '') + ')'
            + (f'; **{left["trainable_count"]} trainable**: '
               f'{", ".join(left["trainable"])}'
               if left['trainable_count'] else '') + '.']
    out += ['', '## Frozen parameters (requires_grad=False)', '']
    out.append(
        _table(['module', 'tensors', 'params', 'frozen tensors',
                'frozen params', 'frozen in optimizer'],
               [[r['module'], r['tensors'], r['params'],
                 r['frozen_tensors'], r['frozen_params'],
                 r['frozen_in_optimizer']] for r in report['frozen']]))
    out += ['', 'Frozen tensors inside the optimizer get no gradient, so '
            'PyTorch optimizers skip them (no decay, no momentum).', '']
    out += ['## Batch, epochs, sampler', '']
    name_gb = d['name_gpus_batch']
    scale = report['auto_scale_lr']
    out.append(
        _table(['item', 'value'], [
            ['GPUs', f'{d["gpus"]} ({report["gpus_source"]})'],
            ['batch per GPU', d['batch_per_gpu']],
            ['global batch', d['global_batch']],
            ['config name NxbB',
             f'{name_gb[0]}x{name_gb[1]} = {name_gb[0] * name_gb[1]}'
             if name_gb else '-'],
            ['drop_last', d['drop_last']],
            ['train set', _train_set_text(d)],
            ['sampler', _sampler_text(d['sampler'])],
            ['sampler length per rank', d['sampler_len_per_rank'] or
             'unknown'],
            ['iterations per epoch', d['iters_per_epoch'] or 'unknown'],
            ['epochs', sch['max_epochs']],
            ['total iterations', sch['max_iters']
             if not sch['nominal_iters_per_epoch'] else 'unknown'],
            ['auto_scale_lr base batch',
             f'{scale["base_batch_size"]} (applied: {scale["applied"]})'],
        ]))
    out += ['', '## Schedule (MMEngine schedulers, stepped as '
            'ParamSchedulerHook)', '']
    if sch['nominal_iters_per_epoch']:
        out += [f'Iterations per epoch unknown: stepped with a nominal '
                f'{sch["iters_per_epoch"]} (pass --train-size); '
                'epoch-start values of epoch-based schedulers do not '
                'depend on it.', '']
    srows = []
    for r in sch['schedulers']:
        extra = ', '.join(f'{k}={fmt(r[k])}' for k in SCHEDULER_KEYS
                          if k in r)
        srows.append([r['type'], r['param'],
                      'epoch' if r['by_epoch'] else 'iter', r['converted'],
                      r['begin'], r['end'], extra])
    out.append(
        _table(['scheduler', 'param', 'steps per', 'converted', 'begin',
                'end', 'args'], srows or [['(none)', '', '', '', '', '',
                                           '']]))
    out += ['', 'lr at the first iteration of an epoch:', '']
    out.append(
        _table(['epoch', 'iteration', 'lr', 'why'],
               [[p['epoch'], p['iteration'], _lr_text(p['lr']),
                 ', '.join(p['why'])] for p in sch['probes']]
               + [['(end)', sch['max_iters'] - 1,
                   _lr_text(sch['lr_last_iter']), 'last iteration']]))
    out += ['', '## Initialisation (after model.init_weights())', '']
    if report['init'] is None:
        out.append('Skipped (--no-init).')
    else:
        out.append(
            _table(['module', 'type', 'params', 'frozen', 'init',
                    'conv/linear layers'],
                   [[r['module'], r['type'], r['params'], r['frozen'],
                     r['init'], ', '.join(f'{k} x{v}'
                                          for k, v in r['layers'].items())]
                    for r in report['init']]))
        notes = [(r['module'], n) for r in report['init'] for n in r['notes']]
        if notes:
            out += [''] + [f'- {m}: {n}' for m, n in notes]
        out += ['', 'MMEngine\'s own init record (distinct entries per '
                'module):', '']
        out += [f'- {r["module"]}: {"; ".join(r["mmengine"])}'
                for r in report['init']]
    out += ['', '## Transforms', '']
    tr = report['transforms']
    for split in ('train', 'val', 'test'):
        if split in tr:
            out.append(f'{split}:')
            out.append('')
            out.append(
                _table(['#', 'transform'],
                       [[i, t['text']] for i, t in enumerate(tr[split])]))
            out.append('')
    pre = tr['data_preprocessor']
    out.append(
        f'data preprocessor: {pre["type"]}, normalise={pre.get("normalise")}'
        + (f', mean={pre["mean"]}, std={pre["std"]}'
           if pre.get('normalise') else '')
        + f', to_rgb={pre.get("to_rgb")}')
    out += ['', f'_built in {report["seconds"]} s_', '']
    return '\n'.join(out)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Entry point; prints the report and returns it as a dict."""
    args = parse_args(argv)
    report = collect(args)
    if args.format == 'json':
        print(json.dumps(report, indent=1))
    else:
        print(to_markdown(report))
    return report


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    main()
