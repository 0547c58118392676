# Copyright (c) ltplug contributors. All rights reserved.
import copy

import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

NUM_CLASSES = 5
COUNTS = [40, 20, 10, 5, 2]

DEFAULT_ARGS = dict(
    type='NCLMultiExpertClassifier',
    num_experts=3,
    backbone=dict(type='CIFARResNet', depth=20),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=NUM_CLASSES, in_channels=64),
    loss=dict(type='NCLLoss', hcm_n=3, class_counts=COUNTS),
    data_preprocessor=dict(num_classes=NUM_CLASSES))

MOCO = dict(queue_size=16, dim=8, temperature=0.2, momentum=0.9)


def build(**overrides):
    cfg = copy.deepcopy(DEFAULT_ARGS)
    cfg.update(overrides)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def samples(labels):
    return [DataSample().set_gt_label(int(y)) for y in labels]


def test_predict_is_mean_of_raw_logits():
    torch.manual_seed(0)
    model = build().eval()
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        per_expert = model(x, mode='tensor')  # E, B, C
        out = model(x, samples([0, 1, 2, 3]), mode='predict')
    assert per_expert.shape == (3, 4, NUM_CLASSES)
    # the experts are independent: different weights, different logits
    assert not torch.allclose(per_expert[0], per_expert[1])
    mean = per_expert.mean(0)
    for b, ds in enumerate(out):
        torch.testing.assert_close(ds.expert_logits, per_expert[:, b])
        torch.testing.assert_close(ds.pred_score, mean[b].softmax(0))
        assert int(ds.pred_label) == int(mean[b].argmax())
    # the head's own forward gives the same raw logits
    feats = model.extract_feat(x)
    torch.testing.assert_close(model.heads[2](feats[2]), per_expert[2])


def test_same_batch_to_every_expert_and_gradients():
    torch.manual_seed(0)
    model = build().train()
    seen = []
    for bb in model.backbones:
        bb.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    x = torch.randn(4, 3, 16, 16)
    losses = model(x, samples([0, 1, 2, 4]), mode='loss')
    assert len(seen) == 3 and all(s is seen[0] for s in seen)
    assert {'loss_nil', 'loss_nbod'} <= set(losses)
    total, log_vars = model.parse_losses(losses)
    assert {'nil_ce', 'nil_hcm', 'nbod_full', 'nbod_hcm'} <= set(log_vars)
    torch.testing.assert_close(total,
                               losses['loss_nil'] + losses['loss_nbod'])
    total.backward()
    for i in range(3):
        for module in (model.backbones[i], model.heads[i]):
            grads = [p.grad for p in module.parameters()]
            assert all(g is not None for g in grads)
            assert sum(float(g.abs().sum()) for g in grads) > 0


def test_data_preprocessed_once_in_train_step():
    model = build()
    calls = []
    model.data_preprocessor.register_forward_hook(
        lambda m, a, o: calls.append(1))
    from mmengine.optim import OptimWrapper
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    data = dict(
        inputs=[torch.randint(0, 255, (3, 16, 16), dtype=torch.uint8)
                for _ in range(4)],
        data_samples=samples([0, 1, 2, 3]))
    log_vars = model.train_step(data, optim)
    assert len(calls) == 1
    assert 'loss' in log_vars and 'loss_nil' in log_vars


def test_class_counts_via_hook_setter():
    model = build(loss=dict(type='NCLLoss', hcm_n=3))
    setters = [m for _, m in model.named_modules()
               if callable(getattr(m, 'set_class_counts', None))]
    assert len(setters) == 1
    setters[0].set_class_counts(COUNTS)
    model(torch.randn(2, 3, 16, 16), samples([0, 1]), mode='loss')


@pytest.mark.parametrize('overrides, match', [
    (dict(num_experts=1), 'at least 2 experts, but got num_experts=1'),
    (dict(num_experts=0), 'num_experts=0'),
    (dict(loss=dict(type='NCLLoss', hcm_n=6)),
     'hcm_n=6 exceeds the number of classes of the head \\(5\\)'),
    (dict(moco_mode='paper'), "moco_mode .* 'paper'"),
    (dict(moco=dict(dim=8)), "moco needs 'queue_size'"),
    (dict(moco=dict(MOCO, K=3)), "unknown moco keys \\['K'\\]"),
    (dict(moco=dict(MOCO, temperature=0.)), 'temperature must be > 0'),
])
def test_build_errors(overrides, match):
    with pytest.raises(ValueError, match=match):
        build(**overrides)


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize('mode', ['official', 'corrected'])
def test_moco_queue_and_ema(mode):
    torch.manual_seed(0)
    model = build(moco=dict(MOCO), moco_mode=mode).train()
    m = MOCO['momentum']
    # no gradient into EMA copies / key heads, ever
    for mod in (model.ema_backbones, model.key_heads):
        assert not any(p.requires_grad for p in mod.parameters())
    online0 = _params(model.backbones)
    ema0 = _params(model.ema_backbones)
    qhead0 = _params(model.query_heads)
    khead0 = _params(model.key_heads)
    same_init = all(torch.equal(a, b) for a, b in zip(online0, ema0))
    same_head = all(torch.equal(a, b) for a, b in zip(qhead0, khead0))
    if mode == 'corrected':
        assert same_init and same_head  # copies of the online modules
    else:
        assert not same_init and not same_head  # independent inits
    queue0 = model.queues[1].keys.clone()

    x1, x2 = torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)
    losses = model([x1, x2], samples([0, 1, 2, 3]), mode='loss')
    assert losses['loss_moco'].requires_grad and losses['loss_moco'] > 0

    # EMA: E = 3 times with momentum m (official) vs once (corrected)
    eff = m**3 if mode == 'official' else m
    for p_o, p_e0, p_e in zip(online0, ema0, model.ema_backbones.parameters()):
        torch.testing.assert_close(p_e, eff * p_e0 + (1 - eff) * p_o)
    khead = _params(model.key_heads)
    if mode == 'official':  # frozen random key head
        assert all(torch.equal(a, b) for a, b in zip(khead, khead0))
    else:  # updated like the backbone
        for k, k0, q in zip(khead, khead0, qhead0):
            torch.testing.assert_close(k, m * k0 + (1 - m) * q)

    # queues: 4 new unit keys at the start, pointer moved, rest unchanged
    for q in model.queues:
        assert int(q.ptr) == 4
        torch.testing.assert_close(q.keys[:4].norm(dim=1), torch.ones(4))
    assert not torch.allclose(model.queues[1].keys[:4], queue0[:4])
    torch.testing.assert_close(model.queues[1].keys[4:], queue0[4:])
    # the new keys are the EMA encoder's keys of view 2 (computed before
    # the EMA step in 'official' mode, after it in 'corrected' mode)
    if mode == 'corrected':
        model.eval()
        with torch.no_grad():
            k = model.ema_necks[1](model.ema_backbones[1](x2))[-1]
            k = torch.nn.functional.normalize(model.key_heads[1](k), dim=1)
        model.train()
        # BN in train mode at loss time vs eval here: compare directions
        cos = (k * model.queues[1].keys[:4]).sum(1)
        assert (cos > 0).all()

    # gradients flow to the online encoders and query heads only
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is not None for p in model.query_heads.parameters())
    assert all(p.grad is None for p in model.key_heads.parameters())
    assert all(p.grad is None for p in model.ema_backbones.parameters())

    # everything MoCo keeps is in the checkpoint
    keys = model.state_dict().keys()
    for name in ('queues.0.keys', 'queues.2.ptr',
                 'ema_backbones.1.conv1.weight', 'key_heads.0.0.weight',
                 'query_heads.2.2.weight'):
        assert name in keys


def test_moco_needs_two_views_and_predict_ignores_view2():
    model = build(moco=dict(MOCO))
    with pytest.raises(ValueError, match='two views'):
        model(torch.randn(2, 3, 16, 16), samples([0, 1]), mode='loss')
    model.eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        a = model([x, torch.randn_like(x)], samples([0, 1]), mode='predict')
        b = model(x, samples([0, 1]), mode='predict')
    torch.testing.assert_close(a[0].pred_score, b[0].pred_score)


def test_cosine_head_experts():
    model = build(head=dict(type='CosineClsHead', num_classes=NUM_CLASSES,
                            in_channels=64, scale=16., bias=True))
    out = model(torch.randn(2, 3, 16, 16), samples([0, 4]), mode='loss')
    assert torch.isfinite(out['loss_nil'])


def _spy_foreach(monkeypatch):
    calls = []
    for name in ('_foreach_mul_', '_foreach_add_'):
        real = getattr(torch, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            calls.append((_name, len(args[0]), args[1] if _name ==
                          '_foreach_mul_' else kwargs['alpha']))
            return _real(*args, **kwargs)

        monkeypatch.setattr(torch, name, spy)
    return calls


@pytest.mark.parametrize('mode', ['official', 'corrected'])
def test_momentum_update_is_one_fused_pass(monkeypatch, mode):
    """Official: the E updates of the released loop are one update with
    momentum m ** E over every expert (equal up to float rounding)."""
    torch.manual_seed(0)
    model = build(moco=dict(MOCO, momentum=0.99), moco_mode=mode)
    m, E = 0.99, model.num_experts
    pairs = model._ema_pairs()
    online = [p.detach().clone() for o, _ in pairs for p in o.parameters()]
    ema0 = [p.detach().clone() for _, e in pairs for p in e.parameters()]
    repeats = E if mode == 'official' else 1
    want = [e.clone() for e in ema0]
    for _ in range(repeats):  # the loop as the released code runs it
        for e, o in zip(want, online):
            e.mul_(m).add_(o, alpha=1 - m)
    calls = _spy_foreach(monkeypatch)
    model.momentum_update()
    eff = m**E if mode == 'official' else m
    n = len(online)
    # every expert's backbone, and the key heads when corrected
    heads = len(list(model.query_heads.parameters()))
    assert n == len(list(model.backbones.parameters())) + (
        heads if mode == 'corrected' else 0)
    assert calls == [('_foreach_mul_', n, eff),
                     ('_foreach_add_', n, pytest.approx(1 - eff))]
    assert model.ema_momentum() == eff
    got = [p for _, e in pairs for p in e.parameters()]
    for g, w, e0 in zip(got, want, ema0):
        torch.testing.assert_close(g, w, rtol=1e-6, atol=1e-7)
    assert any(not torch.equal(g, e0) for g, e0 in zip(got, ema0))


@pytest.mark.parametrize('mode', ['official', 'corrected'])
def test_moco_keys_are_computed_before_the_online_forward(mode):
    """The E no-grad key forwards run before the experts build their
    graphs (a lower peak); the keys are the same (the EMA weights they
    use do not depend on the online forward)."""
    torch.manual_seed(0)
    model = build(moco=dict(MOCO), moco_mode=mode).train()
    order = []
    for i in range(3):
        model.backbones[i].register_forward_hook(
            lambda *a, i=i: order.append(f'online{i}'))
        model.ema_backbones[i].register_forward_hook(
            lambda *a, i=i: order.append(f'key{i}'))
    x1, x2 = torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)
    ref = copy.deepcopy(model)
    model([x1, x2], samples([0, 1, 2, 3]), mode='loss')
    assert order == ['key0', 'key1', 'key2', 'online0', 'online1',
                     'online2']
    # the queued keys: the EMA encoders on view 2 (shuffle-BN permutes
    # the batch, which on one process changes nothing but BN rounding)
    if mode == 'corrected':
        ref.momentum_update()
    with torch.no_grad():
        for i in range(3):
            k = ref.ema_necks[i](ref.ema_backbones[i](x2))[-1]
            k = torch.nn.functional.normalize(ref.key_heads[i](k), dim=1)
            torch.testing.assert_close(model.queues[i].keys[:4], k)
