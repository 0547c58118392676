# Copyright (c) ltplug contributors. All rights reserved.
"""The inference-only config of each method's final model.

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
from typing import Any, Callable, Dict, Optional, Tuple

__all__ = [
    'SUPPORTED_TYPES', 'HEADS', 'inference_model_cfg', 'inference_config',
    'source_model_cfg', 'plain_cfg', 'model_type_name'
]

HEADS = ('soft', 'hard')
#: keys of a model config that only training (or weight files) needs
TRAIN_ONLY_KEYS = ('init_cfg', 'pretrained', 'init_checkpoint', 'train_cfg')
#: evaluators that read per-expert logits (kept for NCL only)
EXPERT_METRICS = ('ExpertAccuracy', )
#: data preprocessor keys a ClsDataPreprocessor takes for testing
CLS_PREPROCESSOR_KEYS = ('mean', 'std', 'to_rgb', 'pad_size_divisor',
                         'pad_value', 'num_classes', 'to_onehot')


def model_type_name(cfg: dict) -> str:
    """The registry name of ``cfg['type']`` (scope dropped)."""
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


def plain_cfg(cfg: Any) -> Any:
    """ConfigDicts to plain dicts / lists (recursively)."""
    if isinstance(cfg, dict):
        return {k: plain_cfg(v) for k, v in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return [plain_cfg(v) for v in cfg]
    return cfg


def _cls_preprocessor(pre: Optional[dict],
                      num_classes: Optional[int]) -> Optional[dict]:
    """The test-time ``ClsDataPreprocessor`` config of ``pre``."""
    if pre is None:
        return None
    pre = plain_cfg(pre)
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
    model = plain_cfg(model_cfg)
    kind = model_type_name(model)
    if head is not None and kind != 'SSDDistiller':
        raise ValueError(
            f'--head {head!r} applies to SSD stage-III models '
            f'(SSDDistiller) only, but the config\'s model is {kind!r}')
    if head is not None and head not in HEADS:
        raise ValueError(f'head must be one of {HEADS}, but got {head!r}')
    key_map: Callable[[str], str] = _identity
    if kind in ('ImageClassifier', 'SSDLWSClassifier', 'CBDDistiller',
                'EnsembleDistiller', 'SSDMoCoClassifier'):
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
                   'CBDDistiller', 'EnsembleDistiller', 'SSDMoCoClassifier',
                   'NCLMultiExpertClassifier')


def source_model_cfg(model_cfg: dict, head: Optional[str] = None) -> dict:
    """The source model config, buildable without teachers or files (an
    SSD student predicting with ``head`` when given)."""
    model = _strip_init(plain_cfg(model_cfg))
    kind = model_type_name(model)
    if kind in ('SSDDistiller', 'CBDDistiller', 'EnsembleDistiller'):
        # the deprecated SSD spelling of an older config goes too
        model.pop('teacher', None)
        model['teachers'] = []
        if kind == 'SSDDistiller' and head is not None:
            model['predict_head'] = head
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
    model = plain_cfg(cfg['model'])
    if model.get('data_preprocessor') is None and cfg.get(
            'data_preprocessor') is not None:
        model['data_preprocessor'] = plain_cfg(cfg['data_preprocessor'])
    new_model, _ = inference_model_cfg(model, head)
    out: Dict[str, Any] = dict(
        custom_imports=dict(imports=['ltplug'], allow_failed_imports=False),
        default_scope=cfg.get('default_scope', 'mmpretrain'),
        model=new_model)
    test_loader = cfg.get('test_dataloader')
    if test_loader is not None:
        test_loader = plain_cfg(test_loader)
        pipeline = find_dataset_pipeline(test_loader.get('dataset'))
        if pipeline is not None:
            out['test_pipeline'] = pipeline
        out['test_dataloader'] = test_loader
        evaluator = _test_evaluator(
            plain_cfg(cfg.get('test_evaluator')), model_type_name(model))
        if evaluator:
            out['test_evaluator'] = evaluator
        out['test_cfg'] = plain_cfg(cfg.get('test_cfg') or {})
    for key in ('env_cfg', 'log_level', 'log_processor', 'visualizer'):
        if cfg.get(key) is not None:
            out[key] = plain_cfg(cfg[key])
    return out
