# Copyright (c) ltplug contributors. All rights reserved.
"""MMPretrain's own ImageClassificationInferencer (and get_model) on every
ltplug config, wrapped test datasets and teacher-less students included, on
an image file and on an array; and MMPretrain's confusion_matrix.py on an
ltplug config and checkpoint."""
import glob
import os.path as osp
import pickle

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.apis import ImageClassificationInferencer
from PIL import Image

import mmpretrain
from ltplug.utils.inference_compat import (MatchInputChannels,
                                           find_dataset_pipeline)
from tests.helpers import ROOT, run_tool
from tests.support.tiny_data import make_image_list, write_tiny_config

CONFIGS = sorted(
    osp.relpath(p, osp.join(ROOT, 'configs'))
    for p in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
    # decode-on-the-device configs (LoadJPEGBytes: the model decodes)
    # are for training / eval; inference uses their per-sample config,
    # the same model (docs/batch_augment.md)
    if '_base_' not in p and not p.endswith('-gpudecode.py'))
FMNIST = 'ce/ce_resnet20_1xb128-10e_fashion-mnist-lt.py'
#: 224 x 224 configs run end to end (one per model type; the others are
#: built through the inferencer and their pipeline is run)
BIG_RUN = {
    'ce/ce_resnet50_4xb128-90e_imagenet-lt.py',
    'decoupling/lws_resnet50_4xb128-5e_imagenet-lt.py',
    'ssd/ssd-stage3-distill_resnext50-32x4d_4xb64-135e_imagenet-lt.py',
    'cbd/cbd_resnet50_1xb128-90e_imagenet-lt.py',
    'ncl/ncl_resnet50_4xb64-200e_imagenet-lt.py',
}


def is_small(cfg: Config) -> bool:
    """Array datasets (CIFAR, Fashion-MNIST): no image loading."""
    pipeline = find_dataset_pipeline(cfg.test_dataloader.dataset)
    return not any('LoadImage' in t['type'] for t in pipeline)


@pytest.fixture(scope='module')
def image_file(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp('img') / 'img.png')
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(
        path)
    return path


def check_result(result: dict, num_classes: int) -> None:
    assert 0 <= result['pred_label'] < num_classes
    assert result['pred_scores'].shape == (num_classes, )
    assert abs(float(result['pred_scores'].sum()) - 1.0) < 1e-4


@pytest.mark.parametrize('name', CONFIGS)
def test_inferencer_on_every_config(name, image_file):
    config = osp.join(ROOT, 'configs', name)
    cfg = Config.fromfile(config)
    # random init: no checkpoint and no teacher file is needed
    inferencer = ImageClassificationInferencer(
        config, pretrained=False, device='cpu')
    model = inferencer.model
    assert not getattr(model, 'teacher', None)
    assert len(getattr(model, 'teachers', [])) == 0
    num_classes = getattr(model, 'num_classes', None) or \
        model.head.num_classes
    img = mmcv.imread(image_file)
    if FMNIST == name:
        img = mmcv.bgr2gray(img)
    # the pipeline (what used to raise on wrapped datasets) runs
    packed = inferencer.pipeline(
        dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2]))
    assert packed['inputs'].shape[0] == model.data_preprocessor.mean.numel()
    if not (is_small(cfg) or name in BIG_RUN):
        return
    on_file, on_array = inferencer([image_file, img])
    for result in (on_file, on_array):
        check_result(result, num_classes)
    np.testing.assert_allclose(
        on_file['pred_scores'], on_array['pred_scores'], rtol=0, atol=1e-6)


def test_wrapped_pipeline_was_the_bug():
    """Without ltplug's lookup, MMPretrain's own _init_pipeline fails on the
    LongTailSubset config (the issue's AttributeError)."""
    patched = ImageClassificationInferencer._init_pipeline
    assert patched._ltplug_patched
    cfg = Config.fromfile(osp.join(ROOT, 'configs', FMNIST))
    assert 'pipeline' not in cfg.test_dataloader.dataset
    inferencer = ImageClassificationInferencer(
        osp.join(ROOT, 'configs', FMNIST), pretrained=False)
    with pytest.raises(AttributeError, match='pipeline'):
        patched.__wrapped__(inferencer, cfg)
    assert find_dataset_pipeline(cfg.test_dataloader.dataset) == \
        cfg.test_dataloader.dataset.dataset.pipeline
    # ConcatDataset-style wrappers: the first dataset's pipeline
    assert find_dataset_pipeline(
        dict(type='ConcatDataset', datasets=[dict(
            type='X', pipeline=[dict(type='PackInputs')])])) == [
                dict(type='PackInputs')]
    assert find_dataset_pipeline(dict(type='X')) is None


def test_channels_follow_the_model(image_file):
    """A 1-channel model gets the grayscale of a file's BGR image, a
    3-channel model the gray image repeated."""
    bgr = mmcv.imread(image_file)
    to_gray = MatchInputChannels(1)
    assert np.array_equal(to_gray(dict(img=bgr))['img'], mmcv.bgr2gray(bgr))
    gray = mmcv.bgr2gray(bgr)
    out = MatchInputChannels(3)(dict(img=gray))['img']
    assert out.shape == bgr.shape and np.array_equal(out[..., 0], gray)
    assert MatchInputChannels(3)(dict(img=bgr))['img'] is bgr
    with pytest.raises(ValueError, match='got 2'):
        MatchInputChannels(2)
    # the Fashion-MNIST model on a colour file = on its grayscale array
    inferencer = ImageClassificationInferencer(
        osp.join(ROOT, 'configs', FMNIST), pretrained=False)
    on_file, on_gray = inferencer([image_file, gray])
    np.testing.assert_allclose(
        on_file['pred_scores'], on_gray['pred_scores'], rtol=0, atol=1e-6)


CONFUSION = osp.join(
    osp.dirname(mmpretrain.__file__), '.mim', 'tools', 'analysis_tools',
    'confusion_matrix.py')


def test_mmpretrain_confusion_matrix_on_an_ltplug_config(tmp_path):
    """MMPretrain's tools/analysis_tools/confusion_matrix.py (installed with
    the wheel under mmpretrain/.mim) on an ltplug config whose test set is
    a LongTailSubset, with a checkpoint trained by tools/train.py."""
    if not osp.isfile(CONFUSION):
        pytest.skip(f'{CONFUSION} is not installed with this mmpretrain')
    data = str(tmp_path / 'data')
    make_image_list(data, per_class=[6, 4, 3, 2])
    extra = '''
test_dataloader = dict(
    batch_size=8, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='LongTailSubset', imbalance_ratio=3.,
                 subsample=False, n_max=6, dataset=dataset))
test_evaluator = dict(type='ShotAccuracy', topk=(1, ))
'''
    cfg = write_tiny_config(str(tmp_path / 'cfg.py'), data, extra=extra,
                            max_epochs=1)
    work = str(tmp_path / 'work')
    run_tool(['tools/train.py', cfg, '--work-dir', work, '--no-validate'])
    out = str(tmp_path / 'cm.pkl')
    log = run_tool([CONFUSION, cfg, osp.join(work, 'epoch_1.pth'), '--out',
                    out, '--show-path', str(tmp_path / 'cm.png')]).stdout
    with open(out, 'rb') as f:
        cm = pickle.load(f)
    cm = torch.as_tensor(cm)
    assert tuple(cm.shape) == (4, 4)
    # rows are the true classes: every test image once
    assert cm.sum(dim=1).tolist() == [6, 4, 3, 2]
    assert osp.isfile(tmp_path / 'cm.png'), log[-2000:]
