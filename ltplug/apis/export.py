# Copyright (c) ltplug contributors. All rights reserved.
"""Export the final model of an ltplug method for inference only.

:func:`export_model` turns a training config and its checkpoint into a
self-contained ``model.py`` (no ``_base_``, no teacher, queue, EMA copy or
initialisation file) and a ``model.pth`` holding exactly that model's
weights, then checks that both give the original model's test-mode outputs.

What each method's final model becomes (:func:`inference_model_cfg`):

==========================  ==============================================
source ``model.type``       exported model
==========================  ==============================================
``ImageClassifier``         the same (CE, Balanced Softmax, cRT, LWS,
                            tau-norm, CBD teachers), ``init_cfg`` dropped
``SSDLWSClassifier``        ``ImageClassifier`` with the ``LWSHead``
                            (SSD stages II and IV), no ``init_checkpoint``
``SSDDistiller``            ``ImageClassifier`` whose head is the student's
                            soft head (``head='soft'``, the official
                            primary) or hard head (``head='hard'``); no
                            teacher
``CBDDistiller``            ``ImageClassifier`` (backbone, projection neck,
                            cosine head); no teachers
``SSDMoCoClassifier``       ``ImageClassifier`` (the query encoder and its
                            classifier); no key encoder, projections or
                            queue
``NCLMultiExpertClassifier`` the same ensemble without ``moco`` (no EMA
                            copies, key / query heads or queues)
==========================  ==============================================

Two-view data preprocessors (``SelfSupDataPreprocessor``) become
``ClsDataPreprocessor`` with the same mean, std and channel order.
"""
import copy
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

__all__ = [
    'SUPPORTED_TYPES', 'HEADS', 'inference_model_cfg', 'inference_config',
    'convert_state_dict', 'compare_models', 'export_model'
]

HEADS = ('soft', 'hard')
#: keys of a model config that only training (or weight files) needs
TRAIN_ONLY_KEYS = ('init_cfg', 'pretrained', 'init_checkpoint', 'train_cfg')
#: evaluators that read per-expert logits (kept for NCL only)
EXPERT_METRICS = ('ExpertAccuracy', )
#: data preprocessor keys a ClsDataPreprocessor takes for testing
CLS_PREPROCESSOR_KEYS = ('mean', 'std', 'to_rgb', 'pad_size_divisor',
                         'pad_value', 'num_classes', 'to_onehot')


def _type_name(cfg: dict) -> str:
    t = cfg.get('type')
    if not isinstance(t, str):
        raise TypeError(f'the model config needs a string `type`, but got '
                        f'{t!r}')
    return t.split('.')[-1]


def _strip_init(cfg: Any) -> Any:
    """A deep copy of ``cfg`` without ``init_cfg`` / ``pretrained`` keys at
    any depth (the exported weights come from ``model.pth``)."""
    if isinstance(cfg, dict):
        return {
            k: _strip_init(v)
            for k, v in cfg.items() if k not in ('init_cfg', 'pretrained')
        }
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(_strip_init(v) for v in cfg)
    return copy.deepcopy(cfg)


def _plain(cfg: Any) -> Any:
    """ConfigDicts to plain dicts / lists (recursively)."""
    if isinstance(cfg, dict):
        return {k: _plain(v) for k, v in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return [_plain(v) for v in cfg]
    return cfg


def _cls_preprocessor(pre: Optional[dict],
                      num_classes: Optional[int]) -> Optional[dict]:
    """The test-time ``ClsDataPreprocessor`` config of ``pre``."""
    if pre is None:
        return None
    pre = _plain(pre)
    kind = (pre.get('type') or 'ClsDataPreprocessor').split('.')[-1]
    if kind == 'ClsDataPreprocessor':
        out = {k: v for k, v in pre.items() if k != 'batch_augments'}
        out['type'] = 'ClsDataPreprocessor'
        return out
    if kind == 'SelfSupDataPreprocessor':
        out = {k: v for k, v in pre.items() if k in CLS_PREPROCESSOR_KEYS}
        out['type'] = 'ClsDataPreprocessor'
        if num_classes is not None:
            out.setdefault('num_classes', num_classes)
        return out
    raise ValueError(f'cannot export a model with data preprocessor '
                     f'{kind!r}; expected ClsDataPreprocessor or '
                     'SelfSupDataPreprocessor')


def _identity(key: str) -> str:
    return key


def _image_classifier(model: dict, head: dict) -> dict:
    out = dict(type='ImageClassifier', backbone=model['backbone'])
    if model.get('neck') is not None:
        out['neck'] = model['neck']
    out['head'] = head
    return out


def inference_model_cfg(model_cfg: dict,
                        head: Optional[str] = None
                        ) -> Tuple[dict, Callable[[str], str]]:
    """The inference-only model config of a method's model config.

    Args:
        model_cfg (dict): The training config's ``model`` (with its
            ``data_preprocessor``).
        head (str, optional): For an ``SSDDistiller``: ``'soft'`` or
            ``'hard'``. Defaults to None (the config's ``predict_head``,
            itself 'soft' by default). Refused for other models.

    Returns:
        tuple[dict, Callable[[str], str]]: The exported model config and a
        function mapping each of its state-dict keys to the source
        checkpoint's key.
    """
    model = _plain(model_cfg)
    kind = _type_name(model)
    if head is not None and kind != 'SSDDistiller':
        raise ValueError(
            f'--head {head!r} applies to SSD stage-III models '
            f'(SSDDistiller) only, but the config\'s model is {kind!r}')
    if head is not None and head not in HEADS:
        raise ValueError(f'head must be one of {HEADS}, but got {head!r}')
    key_map: Callable[[str], str] = _identity
    if kind in ('ImageClassifier', 'SSDLWSClassifier', 'CBDDistiller',
                'SSDMoCoClassifier'):
        out = _image_classifier(model, model['head'])
    elif kind == 'SSDDistiller':
        which = head or model.get('predict_head', 'soft')
        if which not in HEADS:
            raise ValueError(f'predict_head must be one of {HEADS}, but got '
                             f'{which!r}')
        if which == 'soft':
            soft = model.get('soft_head') or model['head']
            out = _image_classifier(model, soft)

            def key_map(key: str) -> str:  # noqa: F811
                return 'soft_' + key if key.startswith('head.') else key
        else:
            out = _image_classifier(model, model['head'])
    elif kind == 'NCLMultiExpertClassifier':
        out = {
            k: v
            for k, v in model.items()
            if k not in ('moco', 'moco_mode') + TRAIN_ONLY_KEYS
        }
        out['type'] = 'NCLMultiExpertClassifier'
    else:
        raise ValueError(f'cannot export a {kind!r} model; supported: '
                         f'{list(SUPPORTED_TYPES)}')
    num_classes = out['head'].get('num_classes') if isinstance(
        out.get('head'), dict) else None
    pre = _cls_preprocessor(model.get('data_preprocessor'), num_classes)
    if pre is not None:
        out['data_preprocessor'] = pre
    return _strip_init(out), key_map


SUPPORTED_TYPES = ('ImageClassifier', 'SSDLWSClassifier', 'SSDDistiller',
                   'CBDDistiller', 'SSDMoCoClassifier',
                   'NCLMultiExpertClassifier')


def _source_model_cfg(model_cfg: dict, head: Optional[str] = None) -> dict:
    """The source model config, buildable without teachers or files (an
    SSD student predicting with ``head`` when given)."""
    model = _strip_init(_plain(model_cfg))
    kind = _type_name(model)
    if kind == 'SSDDistiller':
        model['teacher'] = None
        if head is not None:
            model['predict_head'] = head
    elif kind == 'CBDDistiller':
        model['teachers'] = []
    elif kind == 'SSDLWSClassifier':
        model['init_checkpoint'] = None
    return model


def _test_evaluator(evaluator: Any, kind: str) -> Any:
    """``test_evaluator`` without per-expert metrics (kept for NCL)."""
    if evaluator is None or kind == 'NCLMultiExpertClassifier':
        return evaluator
    items = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    kept = [
        e for e in items
        if not (isinstance(e, dict) and str(e.get('type', '')).split('.')[-1]
                in EXPERT_METRICS)
    ]
    if isinstance(evaluator, (list, tuple)):
        return kept
    return kept[0] if kept else None


def inference_config(cfg: Any, head: Optional[str] = None) -> dict:
    """The self-contained inference config of a training config.

    Args:
        cfg (Config): The training config (loaded, ``_base_`` resolved).
        head (str, optional): See :func:`inference_model_cfg`.

    Returns:
        dict: ``custom_imports``, ``default_scope``, ``model``,
        ``test_pipeline``, ``test_dataloader`` / ``test_evaluator`` /
        ``test_cfg`` (for ``tools/test.py``) and the runtime keys a Runner
        reads; nothing about training.
    """
    from ltplug.utils.inference_compat import find_dataset_pipeline
    model = _plain(cfg['model'])
    if model.get('data_preprocessor') is None and cfg.get(
            'data_preprocessor') is not None:
        model['data_preprocessor'] = _plain(cfg['data_preprocessor'])
    new_model, _ = inference_model_cfg(model, head)
    out: Dict[str, Any] = dict(
        custom_imports=dict(imports=['ltplug'], allow_failed_imports=False),
        default_scope=cfg.get('default_scope', 'mmpretrain'),
        model=new_model)
    test_loader = cfg.get('test_dataloader')
    if test_loader is not None:
        test_loader = _plain(test_loader)
        pipeline = find_dataset_pipeline(test_loader.get('dataset'))
        if pipeline is not None:
            out['test_pipeline'] = pipeline
        out['test_dataloader'] = test_loader
        evaluator = _test_evaluator(
            _plain(cfg.get('test_evaluator')), _type_name(model))
        if evaluator:
            out['test_evaluator'] = evaluator
        out['test_cfg'] = _plain(cfg.get('test_cfg') or {})
    for key in ('env_cfg', 'log_level', 'log_processor', 'visualizer'):
        if cfg.get(key) is not None:
            out[key] = _plain(cfg[key])
    return out


def _load_state(checkpoint: str) -> Tuple[OrderedDict, dict]:
    from ltplug.utils.checkpoint import load_checkpoint_safely
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f'checkpoint file "{checkpoint}" does not exist')
    ckpt = load_checkpoint_safely(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'checkpoint "{checkpoint}" holds no state_dict '
                         f'(it holds a {type(ckpt).__name__})')
    state = OrderedDict((k[7:] if k.startswith('module.') else k, v)
                        for k, v in state.items())
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    return state, meta if isinstance(meta, dict) else {}


def _check_fits(model: nn.Module, state: dict, checkpoint: str,
                config: str) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    bad = [
        f'{k}: {tuple(state[k].shape)} in the file, {tuple(v.shape)} in '
        'the model' for k, v in own.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or bad:
        raise ValueError(
            f'checkpoint "{checkpoint}" does not fit config "{config}": '
            f'{len(missing)} missing key(s) {missing[:6]}, '
            f'{len(unexpected)} unexpected key(s) {unexpected[:6]}, '
            f'{len(bad)} shape mismatch(es) {bad[:3]}')


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


def _sample_image(pipeline: List[dict], channels: int,
                  seed: int) -> np.ndarray:
    size = 32
    for t in pipeline:
        if str(t.get('type', '')).split('.')[-1] == 'CenterCrop':
            crop = t.get('crop_size', size)
            size = int(crop if isinstance(crop, int) else max(crop))
    rng = np.random.default_rng(seed)
    shape = (size, size) if channels == 1 else (size, size, 3)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def _test_batch(cfg: dict, model: nn.Module, batch_size: int,
                seed: int) -> dict:
    """A batch of random images through the test pipeline (image loading
    removed, as in MMPretrain's inferencer)."""
    from mmengine.dataset import Compose, default_collate
    from mmpretrain.datasets import remove_transform
    from mmpretrain.registry import TRANSFORMS
    pipeline = remove_transform(
        copy.deepcopy(cfg.get('test_pipeline') or [dict(type='PackInputs')]),
        'LoadImageFromFile')
    pre = model.data_preprocessor
    channels = 3
    if getattr(pre, '_enable_normalize', False):
        channels = int(pre.mean.numel())
    compose = Compose([TRANSFORMS.build(t) for t in pipeline])
    items = []
    for i in range(batch_size):
        img = _sample_image(pipeline, channels, seed + i)
        items.append(
            compose(dict(img=img, img_shape=img.shape[:2],
                         ori_shape=img.shape[:2])))
    return default_collate(items)


@torch.no_grad()
def compare_models(source: nn.Module, exported: nn.Module, data: dict
                   ) -> Dict[str, float]:
    """Max abs differences of two models in test mode on one batch.

    Args:
        source (nn.Module): The original model (eval mode).
        exported (nn.Module): The exported model (eval mode).
        data (dict): A collated batch (``inputs``, ``data_samples``).

    Returns:
        dict[str, float]: ``logits`` (``mode='tensor'`` outputs) and
        ``pred_score`` (``test_step`` scores) max abs differences.
    """
    source.eval()
    exported.eval()
    a_in = source.data_preprocessor(copy.deepcopy(data), False)['inputs']
    b_in = exported.data_preprocessor(copy.deepcopy(data), False)['inputs']
    a = source(a_in, mode='tensor')
    b = exported(b_in, mode='tensor')
    if tuple(a.shape) != tuple(b.shape):
        raise RuntimeError(f'the exported model gives logits of shape '
                           f'{tuple(b.shape)}, the source {tuple(a.shape)}')
    sa = torch.stack(
        [d.pred_score for d in source.test_step(copy.deepcopy(data))])
    sb = torch.stack(
        [d.pred_score for d in exported.test_step(copy.deepcopy(data))])
    return dict(
        logits=float((a.float() - b.float()).abs().max()),
        pred_score=float((sa.float() - sb.float()).abs().max()))


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
    src_model_cfg = _plain(cfg.model)
    if src_model_cfg.get('data_preprocessor') is None and cfg.get(
            'data_preprocessor') is not None:
        src_model_cfg['data_preprocessor'] = _plain(cfg.data_preprocessor)
    kind = _type_name(src_model_cfg)
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
            source = MODELS.build(_source_model_cfg(src_model_cfg, head))
            _check_fits(source, state, checkpoint, config)
            source.load_state_dict(state, strict=True)
            data = _test_batch(new_cfg, exported, batch_size, seed)
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
