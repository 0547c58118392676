# Copyright (c) ltplug contributors. All rights reserved.
"""``teacher_outputs`` / ``teacher_feature_width`` on every kind of
teacher: an NCL ensemble, a plain ImageClassifier, an SSD student and an
unknown model."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from ltplug.models.utils.teacher_outputs import (teacher_feature_width,
                                                 teacher_outputs)

BACKBONE = dict(type='CIFARResNet', depth=20, base_channels=4,
                stem_channels=4)
HEAD = dict(type='LinearClsHead', num_classes=5, in_channels=16)


def build(cfg):
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def inputs():
    g = torch.Generator().manual_seed(1)
    return torch.randn(3, 3, 16, 16, generator=g)


def test_ncl_mean_logits_and_concatenated_features():
    model = build(dict(type='NCLMultiExpertClassifier', num_experts=3,
                       backbone=BACKBONE,
                       neck=dict(type='GlobalAveragePooling'), head=HEAD,
                       loss=dict(type='NCLLoss', hcm_n=2)))
    x = inputs()
    with torch.no_grad():
        logits, feat = teacher_outputs(model, x)
        experts = model(x, mode='tensor')  # E, B, C
        pooled = [model.necks[i](model.backbones[i](x))[-1]
                  for i in range(3)]
        # what the ensemble predicts
        score = model.predict(x)[0].pred_score
    assert torch.allclose(logits, experts.mean(0))
    assert torch.allclose(F.softmax(logits[0], 0), score, atol=1e-6)
    assert feat.shape == (3, 48)
    assert torch.equal(feat, torch.cat(pooled, dim=1))
    assert teacher_feature_width(model) == 48
    _, normed = teacher_outputs(model, x, normalize_parts=True)
    for i in range(3):
        part = normed[:, 16 * i:16 * (i + 1)]
        assert torch.allclose(part.norm(dim=1), torch.ones(3))
        assert torch.allclose(part, F.normalize(pooled[i], dim=1))


def test_image_classifier_head_logits_and_pre_logits():
    model = build(dict(type='ImageClassifier', backbone=BACKBONE,
                       neck=dict(type='GlobalAveragePooling'), head=HEAD))
    x = inputs()
    with torch.no_grad():
        logits, feat = teacher_outputs(model, x)
        expected_feat = model.extract_feat(x, stage='pre_logits')
        expected = model(x, mode='tensor')
    assert torch.equal(logits, expected)
    assert torch.equal(feat, expected_feat)
    assert teacher_feature_width(model) == 16


@pytest.mark.parametrize('predict_head', ['soft', 'hard'])
def test_ssd_distiller_predict_head(predict_head):
    model = build(dict(type='SSDDistiller', backbone=BACKBONE,
                       neck=dict(type='GlobalAveragePooling'), head=HEAD,
                       teachers=None, predict_head=predict_head))
    x = inputs()
    with torch.no_grad():
        logits, feat = teacher_outputs(model, x)
        both = model.head_logits(x)
    idx = 1 if predict_head == 'soft' else 0
    assert torch.equal(logits, both[:, idx])
    assert not torch.equal(logits, both[:, 1 - idx])
    assert feat.shape == (3, 16)


def test_unknown_model_type_names_it():
    backbone = MODELS.build(BACKBONE)
    with pytest.raises(TypeError, match='CIFARResNet'):
        teacher_outputs(backbone, inputs())
    with pytest.raises(TypeError, match='CIFARResNet'):
        teacher_feature_width(backbone)
