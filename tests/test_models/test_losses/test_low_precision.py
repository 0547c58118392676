# Copyright (c) ltplug contributors. All rights reserved.
"""Every ltplug loss under fp16 and bf16 inputs (CPU kernels exist for all
the ops used): finite, fp32, and equal to the fp32 loss on the same
cast-down inputs (tight) and close to the fp32 loss on the original inputs
(dtype tolerance). Includes a class with 100,000 images, which fp16 cannot
hold (max 65504), and zero feature vectors, which ``eps = 1e-12`` does not
guard in fp16."""
import copy
import types

import numpy as np
import pytest
import torch
from mmpretrain.registry import HOOKS, MODELS

LOW = [torch.float16, torch.bfloat16]
# loose tolerance against the fp32 loss on the original (not cast) inputs
LOOSE = {torch.float16: 5e-3, torch.bfloat16: 3e-2}
BIG_COUNTS = [100000, 20000, 3000, 500, 60, 7, 1]
C = len(BIG_COUNTS)


def np_balanced_ce(logits, labels, counts):
    """float64 reference: CE of logits + log n_c, per sample."""
    z = np.asarray(logits, np.float64) + np.log(np.asarray(counts, float))
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(labels)), labels]


def data(b=8, seed=0, scale=3.):
    g = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(b, C, generator=g)
    labels = torch.randint(0, C, (b, ), generator=g)
    return logits, labels


def assert_fp32_close(out, ref, rtol=1e-5, atol=1e-6):
    """Finite, equal to ``ref`` (the fp32 result), and fp32 itself."""
    assert torch.isfinite(out).all(), out
    torch.testing.assert_close(out.float(), ref.float(), rtol=rtol,
                               atol=atol)
    assert out.dtype == torch.float32, out.dtype


# ----------------------------------------------------------- balanced
@pytest.mark.parametrize('dtype', LOW)
def test_balanced_softmax_large_class(dtype):
    """Was NaN in fp16 (log(inf)) and off by the rounded count in bf16."""
    loss = MODELS.build(
        dict(type='BalancedSoftmaxLoss', class_counts=BIG_COUNTS))
    logits, labels = data()
    low = logits.to(dtype).requires_grad_()
    out = loss(low, labels)
    expected = np_balanced_ce(low.detach().double().numpy(),
                              labels.numpy(), BIG_COUNTS).mean()
    assert_fp32_close(out, torch.tensor(expected))
    ref32 = loss(logits, labels)
    torch.testing.assert_close(out, ref32, rtol=LOOSE[dtype], atol=0)
    # gradient: the fp32 gradient (on the cast-down logits), in dtype
    out.backward()
    up = low.detach().float().requires_grad_()
    loss(up, labels).backward()
    assert low.grad.dtype == dtype and torch.isfinite(low.grad).all()
    torch.testing.assert_close(low.grad, up.grad.to(dtype))


@pytest.mark.parametrize('dtype', LOW)
def test_balanced_softmax_soft_labels_weights_and_none(dtype):
    loss = MODELS.build(
        dict(type='BalancedSoftmaxLoss', class_counts=BIG_COUNTS))
    logits, labels = data(seed=1)
    soft = torch.softmax(torch.randn(8, C), dim=1).to(dtype)
    weight = torch.rand(8).to(dtype)
    low = logits.to(dtype)
    for args, kw in (((low, soft), {}),
                     ((low, labels), dict(weight=weight)),
                     ((low, labels), dict(reduction_override='none'))):
        out = loss(*args, **kw)
        up_args = [a.float() if a.is_floating_point() else a for a in args]
        up_kw = {k: v.float() if torch.is_tensor(v) else v
                 for k, v in kw.items()}
        assert_fp32_close(out, loss(*up_args, **up_kw))


def test_balanced_softmax_module_half_keeps_exact_prior():
    """``loss.half()`` (pure fp16) used to turn the counts buffer into inf;
    the counts are int64 now and the log-prior is recomputed in fp32."""
    loss = MODELS.build(
        dict(type='BalancedSoftmaxLoss', class_counts=BIG_COUNTS))
    ref = copy.deepcopy(loss)
    logits, labels = data(seed=2)
    low = logits.half()
    loss.half()
    assert loss.class_counts.tolist() == BIG_COUNTS
    assert_fp32_close(loss(low, labels), ref(low.float(), labels))


def fake_runner(model):
    logs = []
    return types.SimpleNamespace(
        model=model, logger=types.SimpleNamespace(info=logs.append))


@pytest.mark.parametrize('cfg', [
    dict(type='BalancedSoftmaxLoss'),
    dict(type='NCLLoss', hcm_n=3),
])
def test_counts_through_class_counts_hook_refresh_the_prior(cfg):
    """The ClassCountsHook path (set_class_counts) recomputes the fp32
    log-prior every time the counts are set."""
    loss = MODELS.build(cfg)
    loss.set_class_counts([1] * C)
    hook = HOOKS.build(dict(type='ClassCountsHook', class_counts=BIG_COUNTS))
    hook.before_train(fake_runner(loss))
    assert loss.class_counts.tolist() == BIG_COUNTS
    logits, labels = data(seed=3)
    low = logits.half()
    if cfg['type'] == 'NCLLoss':
        # the balanced CE of each expert, summed: nil_ce
        out = loss([low, low], labels)['nil_ce']
        per_expert = 2
    else:
        out = loss(low, labels)
        per_expert = 1
    expected = per_expert * np_balanced_ce(
        low.double().numpy(), labels.numpy(), BIG_COUNTS).mean()
    assert_fp32_close(out, torch.tensor(expected))
    assert loss.log_prior.dtype == torch.float32
    np.testing.assert_allclose(loss.log_prior.numpy(), np.log(BIG_COUNTS),
                               rtol=1e-7)


# ---------------------------------------------------------------- NCL
@pytest.mark.parametrize('dtype', LOW)
@pytest.mark.parametrize('mode', ['zero', 'neg_inf'])
def test_ncl_large_class(dtype, mode):
    """Was NaN in fp16 (all six outputs) with a 100,000-image class."""
    loss = MODELS.build(dict(type='NCLLoss', hcm_n=3, class_counts=BIG_COUNTS,
                             hcm_mask=mode))
    experts = [data(seed=s)[0] for s in range(3)]
    labels = data()[1]
    low = [z.to(dtype).requires_grad_() for z in experts]
    up = [z.detach().float().requires_grad_() for z in low]
    out = loss(low, labels)
    ref = loss(up, labels)
    assert set(out) == set(ref)
    for key in ref:
        assert_fp32_close(out[key], ref[key])
    ref32 = loss(experts, labels)
    for key in ('loss_nil', 'nil_ce', 'nil_hcm'):
        torch.testing.assert_close(out[key], ref32[key], rtol=LOOSE[dtype],
                                   atol=0)
    sum(v for k, v in out.items() if k.startswith('loss')).backward()
    sum(v for k, v in ref.items() if k.startswith('loss')).backward()
    for a, b in zip(low, up):
        assert a.grad.dtype == dtype and torch.isfinite(a.grad).all()
        torch.testing.assert_close(a.grad, b.grad.to(dtype))


def test_ncl_nbod_eps_survives_fp16():
    """A softmax entry that is exactly 0 (a very confident expert): with the
    log taken in fp16, ``p + 1e-9`` is 0 and ``log`` gives -inf; in fp32
    the KL stays finite and equal to the fp32 result."""
    loss = MODELS.build(dict(type='NCLLoss', hcm_n=2, class_counts=[5, 3]))
    z0 = torch.tensor([[30., -30.], [0., 1.]])
    z1 = torch.tensor([[-30., 30.], [1., 0.]])
    labels = torch.tensor([0, 1])
    out = loss([z0.half(), z1.half()], labels)
    ref = loss([z0, z1], labels)
    for key in ref:
        assert_fp32_close(out[key], ref[key])


def test_ncl_module_half_keeps_exact_prior():
    loss = MODELS.build(dict(type='NCLLoss', hcm_n=3, class_counts=BIG_COUNTS))
    ref = copy.deepcopy(loss)
    experts = [data(seed=s)[0].half() for s in range(2)]
    labels = data()[1]
    loss.half()
    assert loss.class_counts.tolist() == BIG_COUNTS
    out = loss(experts, labels)
    expected = ref([z.float() for z in experts], labels)
    for key in expected:
        assert_fp32_close(out[key], expected[key])


# ----------------------------------------------------------------- KD
@pytest.mark.parametrize('dtype', LOW)
def test_kd_loss(dtype):
    """Student close to the teacher (small KL): the log-softmax must not be
    taken in the low dtype, whose rounding would dominate the KL."""
    kd = MODELS.build(dict(type='KDLoss', temperature=2.))
    g = torch.Generator().manual_seed(0)
    teacher = 5 * torch.randn(8, 10, generator=g)
    student = teacher + 0.05 * torch.randn(8, 10, generator=g)
    s, t = student.to(dtype).requires_grad_(), teacher.to(dtype)
    s_up = s.detach().float().requires_grad_()
    out = kd(s, t)
    ref = kd(s_up, t.float())
    assert_fp32_close(out, ref, rtol=1e-4, atol=1e-7)
    out.backward()
    ref.backward()
    assert torch.isfinite(s.grad).all()
    torch.testing.assert_close(s.grad, s_up.grad.to(dtype))


# --------------------------------------------------- cosine distillation
@pytest.mark.parametrize('dtype', LOW)
def test_cosine_feature_distill_zero_vectors(dtype):
    """A zero student row and a zero teacher row in fp16/bf16: finite (was
    NaN in fp16, 1e-12 is 0 there), and equal to the fp32 loss."""
    loss = MODELS.build(
        dict(type='CosineFeatureDistillLoss', loss_weight=100.))
    g = torch.Generator().manual_seed(0)
    student = torch.randn(6, 12, generator=g)
    teachers = [torch.randn(6, 8, generator=g),
                torch.randn(6, 4, generator=g)]
    student[1] = 0
    teachers[0][2] = 0
    s = student.to(dtype).requires_grad_()
    t = [x.to(dtype) for x in teachers]
    s_up = s.detach().float().requires_grad_()
    out = loss(s, t)
    ref = loss(s_up, [x.float() for x in t])
    assert_fp32_close(out, ref)
    torch.testing.assert_close(out, loss(student, teachers),
                               rtol=LOOSE[dtype], atol=0)
    out.backward()
    ref.backward()
    rows = torch.arange(6) != 1
    assert torch.isfinite(s.grad[rows]).all()
    torch.testing.assert_close(s.grad[rows], s_up.grad[rows].to(dtype))
    # the zero row: upstream / max(eps, finfo.tiny), no NaN (inf in fp16
    # for this loss weight, left to AMP's loss scaler)
    assert not torch.isnan(s.grad[1]).any()
    if dtype == torch.bfloat16:
        assert torch.isfinite(s.grad[1]).all()


# ------------------------------------------------------ label-aware MoCo
@pytest.mark.parametrize('dtype', LOW)
def test_label_aware_moco_loss(dtype):
    """Log-sum-exp over a 1024-key queue at T = 0.07 in fp32."""
    moco = MODELS.build(dict(type='LabelAwareMoCoLoss', temperature=0.07))
    g = torch.Generator().manual_seed(0)

    def unit(*shape):
        x = torch.randn(*shape, generator=g)
        return x / x.norm(dim=1, keepdim=True)

    q, k, queue = unit(8, 16), unit(8, 16), unit(1024, 16)
    labels = torch.randint(0, 5, (8, ), generator=g)
    queue_labels = torch.randint(0, 5, (1024, ), generator=g)
    ql = q.to(dtype).requires_grad_()
    q_up = ql.detach().float().requires_grad_()
    low = [x.to(dtype) for x in (k, queue)]
    out = moco(ql, low[0], labels, low[1], queue_labels)
    ref = moco(q_up, low[0].float(), labels, low[1].float(), queue_labels)
    assert_fp32_close(out, ref)
    torch.testing.assert_close(
        out, moco(q, k, labels, queue, queue_labels), rtol=LOOSE[dtype],
        atol=0)
    out.backward()
    ref.backward()
    assert torch.isfinite(ql.grad).all()
    torch.testing.assert_close(ql.grad, q_up.grad.to(dtype))


# ------------------------------------------------------------ autocast
def test_losses_under_cpu_bf16_autocast_return_fp32():
    """Inside ``torch.autocast('cpu', bfloat16)`` (AMP's context) the
    losses given bf16 logits compute and return fp32."""
    bs = MODELS.build(
        dict(type='BalancedSoftmaxLoss', class_counts=BIG_COUNTS))
    ncl = MODELS.build(dict(type='NCLLoss', hcm_n=3, class_counts=BIG_COUNTS))
    logits, labels = data(seed=4)
    low = logits.bfloat16()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out_bs = bs(low, labels)
        out_ncl = ncl([low, low * 0.5], labels)
    assert_fp32_close(out_bs, bs(low.float(), labels))
    ref = ncl([low.float(), (low * 0.5).float()], labels)
    for key in ref:
        assert_fp32_close(out_ncl[key], ref[key])
