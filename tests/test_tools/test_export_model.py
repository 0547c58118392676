# Copyright (c) ltplug contributors. All rights reserved.
"""tools/deploy/export_model.py and ltplug.apis.export: every method's final
model exported for inference, compared with the original model, loaded by
MMPretrain's get_model / ImageClassificationInferencer and tools/test.py."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.apis import ImageClassificationInferencer, get_model
from mmpretrain.registry import MODELS

from ltplug.apis.export import export_model
from ltplug.apis.inference_cfg import plain_cfg
from tests.helpers import ROOT, run_tool
from tests.support.tiny_data import make_image_list, write_tiny_config

#: words no exported model config may contain (teachers, MoCo queues and
#: EMA copies, weight files)
FORBIDDEN = ('teacher', 'queue', 'moco', 'ema_', 'key_', 'query_',
             'init_cfg', 'init_checkpoint', 'checkpoint', 'pretrained')
#: source-only state-dict prefixes
FORBIDDEN_KEYS = ('teacher', 'queue', 'ema_', 'key_', 'query_', 'soft_head')

# (config, --head, exported model type, source prefixes left out)
CASES = [
    ('ce/ce_resnet20_1xb128-10e_fashion-mnist-lt.py', None,
     'ImageClassifier', []),
    ('balanced_softmax/balanced-softmax_resnet32_1xb128-200e_cifar10-lt-r100'
     '.py', None, 'ImageClassifier', []),
    ('decoupling/tau-norm_resnet32_cifar10-lt-r100.py', None,
     'ImageClassifier', []),
    ('decoupling/lws_resnet32_1xb128-10e_cifar10-lt-r100.py', None,
     'ImageClassifier', []),
    ('decoupling/crt_resnet32_1xb128-10e_cifar10-lt-r100.py', None,
     'ImageClassifier', []),
    ('ssd/ssd-stage1_resnet32_1xb128-200e_cifar10-lt-r100.py', None,
     'ImageClassifier', ['key_backbone', 'key_proj', 'query_proj', 'queue']),
    ('ssd/ssd-stage2-lws_resnet32_1xb128-5e_cifar10-lt-r100.py', None,
     'ImageClassifier', []),
    ('ssd/ssd-stage3-distill_resnet32_1xb128-200e_cifar10-lt-r100.py', None,
     'ImageClassifier', ['head']),
    ('ssd/ssd-stage3-distill_resnet32_1xb128-200e_cifar10-lt-r100.py', 'soft',
     'ImageClassifier', ['head']),
    ('ssd/ssd-stage3-distill_resnet32_1xb128-200e_cifar10-lt-r100.py', 'hard',
     'ImageClassifier', ['soft_head']),
    ('ssd/ssd-stage4-lws_resnet32_1xb128-5e_cifar10-lt-r100.py', None,
     'ImageClassifier', []),
    ('cbd/cbd-ens_resnet32_1xb128-200e_cifar10-lt-r100.py', None,
     'ImageClassifier', []),
    ('cbd/cbd-teacher_resnet32_1xb128-200e_cifar10-lt-r100.py', None,
     'ImageClassifier', []),
    ('ncl/ncl-distill_resnet32_1xb64-400e_cifar10-lt-r100.py', None,
     'ImageClassifier', []),
    ('ncl/ncl_resnet32_1xb64-400e_cifar10-lt-r100.py', None,
     'NCLMultiExpertClassifier', []),
    ('ncl/ncl-moco_resnet32_1xb64-400e_cifar10-lt-r100.py', None,
     'NCLMultiExpertClassifier',
     ['ema_backbones', 'key_heads', 'query_heads', 'queues']),
]


def config_path(rel: str) -> str:
    return osp.join(ROOT, 'configs', rel)


def source_model_cfg(cfg: Config) -> dict:
    model = plain_cfg(cfg.model)
    if model.get('data_preprocessor') is None and cfg.get(
            'data_preprocessor') is not None:
        model['data_preprocessor'] = plain_cfg(cfg.data_preprocessor)
    return model


def random_checkpoint(config: str, path: str, seed: int = 0) -> str:
    """A checkpoint of the config's model (as a Runner saves it: teachers
    left out) with random weights and random BN statistics."""
    cfg = Config.fromfile(config)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(source_model_cfg(cfg))
    gen = torch.Generator().manual_seed(seed)
    state = model.state_dict()
    with torch.no_grad():
        for key, value in state.items():
            if not value.dtype.is_floating_point:
                continue
            if key.endswith('running_var'):
                value.copy_(torch.rand(value.shape, generator=gen) + 0.5)
            else:
                value.copy_(torch.randn(value.shape, generator=gen) * 0.1)
    classes = [f'class{i}' for i in range(10)]
    torch.save(
        dict(state_dict=state,
             meta=dict(dataset_meta=dict(classes=classes),
                       seed=seed, experiment_name='x')), path)
    return path


def random_images(n: int = 3, size: int = 32, gray: bool = False):
    rng = np.random.default_rng(1)
    shape = (size, size) if gray else (size, size, 3)
    return [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]


@pytest.mark.parametrize('rel,head,kind,dropped', CASES,
                         ids=[f'{c[0].split("/")[-1][:-3]}-{c[1]}'
                              for c in CASES])
def test_export_every_method(tmp_path, rel, head, kind, dropped):
    config = config_path(rel)
    ckpt = random_checkpoint(config, str(tmp_path / 'src.pth'))
    out = str(tmp_path / 'export')
    result = export_model(config, ckpt, out, head=head, logger=None)

    # outputs equal the original model's in test mode
    assert max(result['max_abs_diff'].values()) <= 1e-5, result
    assert result['dropped'] == dropped

    # a self-contained config naming no teacher, queue, EMA copy or file
    text = open(osp.join(out, 'model.py')).read()
    assert '_base_' not in text and '{{' not in text
    cfg = Config.fromfile(osp.join(out, 'model.py'))
    model_text = json.dumps(cfg.model).lower()
    for word in FORBIDDEN:
        assert word not in model_text, (word, cfg.model)
    assert cfg.model.type == kind
    assert 'train_dataloader' not in cfg and 'optim_wrapper' not in cfg
    assert cfg.custom_imports['imports'] == ['ltplug']
    evaluators = json.dumps(plain_cfg(cfg.test_evaluator))
    assert ('ExpertAccuracy' in evaluators) == (
        kind == 'NCLMultiExpertClassifier')

    # weights_only loading, exactly the exported model's keys, strictly
    saved = torch.load(
        osp.join(out, 'model.pth'), map_location='cpu', weights_only=True)
    keys = list(saved['state_dict'])
    assert not [k for k in keys if k.startswith(FORBIDDEN_KEYS)]
    assert saved['meta']['dataset_meta']['classes'][0] == 'class0'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    model.load_state_dict(saved['state_dict'], strict=True)

    # MMPretrain's own get_model / inferencer on the exported files give
    # the predictions of the original config + checkpoint (itself built
    # without the teacher files, which do not exist here)
    kwargs = {} if head is None else dict(predict_head=head)
    exported = get_model(osp.join(out, 'model.py'),
                         pretrained=osp.join(out, 'model.pth'))
    assert exported._dataset_meta['classes'][1] == 'class1'
    original = get_model(config, pretrained=ckpt, **kwargs)
    gray = rel.startswith('ce/ce_resnet20')
    imgs = random_images(gray=gray)
    got = ImageClassificationInferencer(exported)(imgs)
    want = ImageClassificationInferencer(original)(imgs)
    for g, w in zip(got, want):
        assert g['pred_label'] == w['pred_label']
        np.testing.assert_allclose(g['pred_scores'], w['pred_scores'],
                                   rtol=0, atol=1e-5)
        assert g['pred_class'] == f'class{g["pred_label"]}'


def test_ssd_soft_and_hard_heads_are_different_models(tmp_path):
    config = config_path(CASES[7][0])
    ckpt = random_checkpoint(config, str(tmp_path / 'src.pth'))
    scores = {}
    for head in ('soft', 'hard'):
        out = str(tmp_path / head)
        export_model(config, ckpt, out, head=head, logger=None)
        model = get_model(osp.join(out, 'model.py'),
                          pretrained=osp.join(out, 'model.pth'))
        scores[head] = ImageClassificationInferencer(model)(
            random_images())[0]['pred_scores']
        state = torch.load(osp.join(out, 'model.pth'), weights_only=True)
        src = torch.load(ckpt, weights_only=True)['state_dict']
        want = 'soft_head.fc.weight' if head == 'soft' else 'head.fc.weight'
        assert torch.equal(state['state_dict']['head.fc.weight'], src[want])
    assert np.abs(scores['soft'] - scores['hard']).max() > 1e-3


def test_errors_name_the_problem(tmp_path):
    ce = config_path(CASES[1][0])
    ckpt = random_checkpoint(ce, str(tmp_path / 'ce.pth'))
    with pytest.raises(ValueError, match=r"--head 'hard'.*SSDDistiller.*"
                       r"'ImageClassifier'"):
        export_model(ce, ckpt, str(tmp_path / 'a'), head='hard', logger=None)
    # a checkpoint of another model (CIFAR-100 head) does not fit
    other = random_checkpoint(
        config_path('ce/ce_resnet32_1xb128-200e_cifar100-lt-r100.py'),
        str(tmp_path / 'c100.pth'))
    with pytest.raises(ValueError, match=r'c100\.pth.*head\.fc'):
        export_model(ce, other, str(tmp_path / 'b'), logger=None)
    with pytest.raises(FileNotFoundError, match='absent.pth'):
        export_model(ce, str(tmp_path / 'absent.pth'), str(tmp_path / 'c'),
                     logger=None)
    assert not osp.exists(tmp_path / 'b' / 'model.pth')


def test_cli_export_then_tools_test_gives_the_same_metrics(tmp_path):
    """The exported files work with tools/test.py (strict loading) and give
    the original config + checkpoint's accuracy on a tiny image list."""
    data = str(tmp_path / 'data')
    make_image_list(data)
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), data)
    ckpt = random_checkpoint(cfg, str(tmp_path / 'src.pth'), seed=3)
    out = str(tmp_path / 'export')
    log = run_tool(['tools/deploy/export_model.py', cfg, ckpt, '--out-dir',
                    out]).stdout
    assert '[4/4]' in log and 'max abs diff' in log, log[-2000:]
    metrics = {}
    for name, (c, k) in dict(original=(cfg, ckpt),
                             exported=(osp.join(out, 'model.py'),
                                       osp.join(out, 'model.pth'))).items():
        path = str(tmp_path / f'{name}.json')
        run_tool(['tools/test.py', c, k, '--work-dir',
                  str(tmp_path / f'w_{name}'), '--out', path, '--out-item',
                  'metrics'])
        with open(path) as f:
            metrics[name] = json.load(f)
    assert metrics['exported'] == metrics['original']
    assert 'accuracy/top1' in metrics['exported']


def test_verification_catches_a_different_model(tmp_path, monkeypatch):
    """compare_models sees a perturbed weight, and export_model then refuses
    to write anything."""
    import ltplug.apis.export as export
    config = config_path(CASES[1][0])
    ckpt = random_checkpoint(config, str(tmp_path / 'src.pth'))
    convert = export.convert_state_dict

    def perturbed(*args, **kwargs):
        state = convert(*args, **kwargs)
        state['head.fc.bias'] = state['head.fc.bias'] + 1e-3 * torch.arange(
            state['head.fc.bias'].numel())
        return state

    monkeypatch.setattr(export, 'convert_state_dict', perturbed)
    with pytest.raises(RuntimeError, match=r'differs from the original by'):
        export_model(config, ckpt, str(tmp_path / 'out'), logger=None)
    assert not osp.exists(tmp_path / 'out' / 'model.pth')
