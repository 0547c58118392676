# Copyright (c) ltplug contributors. All rights reserved.
"""Export the final model of an ltplug method for inference only.

:func:`export_model` turns a training config and its checkpoint into a
self-contained ``model.py`` (no ``_base_``, no teacher, queue, EMA copy or
initialisation file) and a ``model.pth`` holding exactly that model's
weights, then checks that both give the original model's test-mode outputs.
What each method's final model becomes is :mod:`ltplug.apis.inference_cfg`
(its table); the check is :mod:`ltplug.apis.verification`.
"""
import copy
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from .inference_cfg import (HEADS, SUPPORTED_TYPES, inference_config,
                            inference_model_cfg, model_type_name, plain_cfg,
                            source_model_cfg)
from .verification import check_fits, compare_models, random_test_batch

__all__ = [
    'SUPPORTED_TYPES', 'HEADS', 'inference_model_cfg', 'inference_config',
    'convert_state_dict', 'compare_models', 'export_model'
]


def _load_state(checkpoint: str) -> Tuple[OrderedDict, dict]:
    """The checkpoint's state dict (``module.`` removed) and its ``meta``."""
    from ltplug.utils.checkpoint import load_state_dict_file
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f'checkpoint file "{checkpoint}" does not exist')
    state, ckpt = load_state_dict_file(checkpoint)
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    return state, meta if isinstance(meta, dict) else {}


def convert_state_dict(state: dict,
                       model: nn.Module,
                       key_map: Callable[[str], str],
                       source: str = 'the checkpoint') -> OrderedDict:
    """The exported model's state dict, every key taken from ``state``.

    Args:
        state (dict): The source checkpoint's state dict.
        model (nn.Module): The exported (inference) model.
        key_map (Callable[[str], str]): Exported key -> source key.
        source (str): Names the checkpoint in messages. Defaults to
            'the checkpoint'.

    Returns:
        OrderedDict: Exactly the keys of ``model.state_dict()``.
    """
    out = OrderedDict()
    missing = []
    for key, ref in model.state_dict().items():
        src = key_map(key)
        if src not in state:
            missing.append(f'{key} (from {src})')
            continue
        value = state[src]
        if tuple(value.shape) != tuple(ref.shape):
            raise ValueError(
                f'{source} does not fit the config: {src} has shape '
                f'{tuple(value.shape)} in the file but {tuple(ref.shape)} in '
                'the model (a different number of classes or architecture?)')
        out[key] = value.detach().clone().contiguous()
    if missing:
        raise KeyError(f'{source} lacks {len(missing)} key(s) of the '
                       f'exported model: {missing[:8]}')
    return out


def _safe_meta(value: Any) -> Any:
    """Plain data only (loadable with ``weights_only=True``)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {
            str(k): _safe_meta(v)
            for k, v in value.items() if _safe_meta(v) is not _DROP
        }
    if isinstance(value, (list, tuple)):
        items = [_safe_meta(v) for v in value]
        if any(v is _DROP for v in items):
            return _DROP
        return type(value)(items)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return _DROP


_DROP = object()


def export_model(config: str,
                 checkpoint: str,
                 out_dir: str,
                 head: Optional[str] = None,
                 cfg_options: Optional[dict] = None,
                 verify: bool = True,
                 atol: float = 1e-5,
                 batch_size: int = 2,
                 seed: int = 0,
                 logger: Optional[Callable[[str], None]] = print) -> dict:
    """Write ``out_dir/model.py`` and ``out_dir/model.pth``.

    Args:
        config (str): The training (or test) config file.
        checkpoint (str): Its trained checkpoint (for tau-norm: the CE
            checkpoint it tests).
        out_dir (str): Output folder (created).
        head (str, optional): ``'soft'`` / ``'hard'`` for SSD stage III.
            Defaults to None (the config's ``predict_head``).
        cfg_options (dict, optional): Overrides merged into the config.
            Defaults to None.
        verify (bool): Compare the exported model with the original on a
            random test batch and raise if they differ by more than
            ``atol``. Defaults to True.
        atol (float): Largest allowed max abs difference of logits and
            scores. Defaults to 1e-5.
        batch_size (int): Images of the verification batch. Defaults to 2.
        seed (int): Seed of the verification images. Defaults to 0.
        logger (Callable, optional): Progress messages. Defaults to print.

    Returns:
        dict: ``config`` / ``checkpoint`` (written paths), ``model_type``
        (source), ``head``, ``dropped`` (source key prefixes left out) and,
        when verified, ``max_abs_diff`` (dict of :func:`compare_models`).
    """
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    import ltplug  # noqa: F401  (registers the components)

    log = logger or (lambda msg: None)
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file "{config}" does not exist')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise KeyError(f'config "{config}" has no `model`')
    src_model_cfg = plain_cfg(cfg.model)
    if src_model_cfg.get('data_preprocessor') is None and cfg.get(
            'data_preprocessor') is not None:
        src_model_cfg['data_preprocessor'] = plain_cfg(cfg.data_preprocessor)
    kind = model_type_name(src_model_cfg)
    new_cfg = inference_config(cfg, head)
    _, key_map = inference_model_cfg(src_model_cfg, head)

    log(f'[1/4] loading {checkpoint}')
    state, meta = _load_state(checkpoint)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        log(f'[2/4] building the exported model (from {kind})')
        exported = MODELS.build(copy.deepcopy(new_cfg['model']))
        new_state = convert_state_dict(state, exported, key_map,
                                       f'checkpoint "{checkpoint}"')
        exported.load_state_dict(new_state, strict=True)
        used = {key_map(k) for k in new_state}
        dropped = sorted({k.split('.')[0] for k in state if k not in used})
        result: Dict[str, Any] = dict(model_type=kind, dropped=dropped)
        if kind == 'SSDDistiller':
            result['head'] = head or src_model_cfg.get('predict_head', 'soft')
        if verify:
            log('[3/4] building the original model and comparing outputs')
            source = MODELS.build(source_model_cfg(src_model_cfg, head))
            check_fits(source, state, checkpoint, config)
            source.load_state_dict(state, strict=True)
            data = random_test_batch(new_cfg, exported, batch_size, seed)
            diff = compare_models(source, exported, data)
            result['max_abs_diff'] = diff
            worst = max(diff.values())
            log(f'      max abs diff: logits {diff["logits"]:.3g}, scores '
                f'{diff["pred_score"]:.3g}')
            if not worst <= atol:
                raise RuntimeError(
                    f'the exported model differs from the original by '
                    f'{worst:.3g} (> atol={atol}): {diff}')
        else:
            log('[3/4] verification skipped')

    os.makedirs(out_dir, exist_ok=True)
    cfg_path = osp.join(out_dir, 'model.py')
    ckpt_path = osp.join(out_dir, 'model.pth')
    log(f'[4/4] writing {cfg_path} and {ckpt_path}')
    text = Config(new_cfg).pretty_text
    header = ('# Inference-only model exported by ltplug '
              '(tools/deploy/export_model.py).\n'
              '# Weights: model.pth next to this file (its meta names the '
              'source files).\n# test_dataloader is only read by '
              'tools/test.py (set its data_root).\n')
    with open(cfg_path, 'w') as f:
        f.write(header + text)
    export_meta = dict(
        exported_from=dict(
            config=osp.basename(config),
            checkpoint=osp.basename(checkpoint),
            model_type=kind))
    if 'head' in result:
        export_meta['exported_from']['head'] = result['head']
    dataset_meta = _safe_meta(meta.get('dataset_meta'))
    if dataset_meta is not _DROP and dataset_meta:
        export_meta['dataset_meta'] = dataset_meta
    torch.save(dict(meta=export_meta, state_dict=new_state), ckpt_path)
    # what users' loaders do on torch >= 2.6: must not need weights_only=False
    torch.load(ckpt_path, map_location='cpu', weights_only=True)
    Config.fromfile(cfg_path)  # the written config parses on its own
    result.update(config=cfg_path, checkpoint=ckpt_path)
    return result
