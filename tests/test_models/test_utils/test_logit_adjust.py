# Copyright (c) ltplug contributors. All rights reserved.
"""The dtype-safe tensor helpers of ``ltplug.models.utils.logit_adjust``,
against float64 numpy / fp32 ``F.normalize`` references."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ltplug.models.utils.logit_adjust import (class_log_prior, l2_normalize,
                                              logit_adjust, norm_floor)

LOW = [torch.float16, torch.bfloat16]
# one class above fp16's largest finite value (65504)
BIG_COUNTS = [100000, 65505, 500, 20, 1]


def np_adjust(logits, counts, tau=1.0):
    return np.asarray(logits, np.float64) + tau * np.log(
        np.asarray(counts, np.float64))


def test_log_prior_is_fp32_and_exact_for_large_counts():
    prior = class_log_prior(torch.tensor(BIG_COUNTS))
    assert prior.dtype == torch.float32
    np.testing.assert_allclose(prior.numpy(), np.log(BIG_COUNTS), rtol=1e-7)
    assert class_log_prior(torch.tensor(BIG_COUNTS),
                           torch.float64).dtype == torch.float64
    # a low-precision result dtype is promoted, never used
    assert class_log_prior(torch.tensor(BIG_COUNTS),
                           torch.float16).dtype == torch.float32


@pytest.mark.parametrize('dtype', LOW)
def test_counts_in_low_precision_are_refused(dtype):
    with pytest.raises(TypeError, match=str(dtype)):
        class_log_prior(torch.tensor([3., 2.], dtype=dtype))


@pytest.mark.parametrize('dtype', LOW)
@pytest.mark.parametrize('tau', [1.0, 0.5])
def test_adjust_low_precision_logits_with_a_large_class(dtype, tau):
    """fp16 made log(100000) inf, bf16 rounded 100000 to 99840: the result
    is now fp32 and equals the float64 sum on the same (cast-down)
    logits."""
    logits = torch.randn(6, len(BIG_COUNTS)).to(dtype)
    for counts in (torch.tensor(BIG_COUNTS),
                   torch.tensor(BIG_COUNTS, dtype=torch.float32)):
        out = logit_adjust(logits, counts, tau)
        assert out.dtype == torch.float32
        assert torch.isfinite(out).all()
        np.testing.assert_allclose(
            out.numpy(), np_adjust(logits.double().numpy(), BIG_COUNTS, tau),
            rtol=1e-6, atol=1e-6)


def test_fp64_logits_stay_fp64():
    logits = torch.randn(3, len(BIG_COUNTS), dtype=torch.float64)
    out = logit_adjust(logits, torch.tensor(BIG_COUNTS))
    assert out.dtype == torch.float64
    np.testing.assert_allclose(
        out.numpy(), np_adjust(logits.numpy(), BIG_COUNTS), rtol=1e-12)


def test_cached_prior_used_only_in_the_compute_dtype():
    counts = torch.tensor(BIG_COUNTS)
    logits = torch.zeros(1, len(BIG_COUNTS), dtype=torch.float16)
    marker = torch.arange(len(BIG_COUNTS), dtype=torch.float32)
    # an fp32 cache is what the losses hold: it is used as given
    torch.testing.assert_close(
        logit_adjust(logits, counts, log_prior=marker)[0], marker)
    # a cache cast by module.half() is not trusted: recomputed from counts
    out = logit_adjust(logits, counts, log_prior=marker.half())
    np.testing.assert_allclose(out[0].numpy(), np.log(BIG_COUNTS),
                               rtol=1e-7)


def test_count_mismatch_quotes_both_sizes():
    with pytest.raises(ValueError, match='2 class counts .* 3 classes'):
        logit_adjust(torch.zeros(1, 3), torch.tensor([1, 2]))


def test_norm_floor():
    assert norm_floor(1e-12, torch.float32) == 1e-12
    assert norm_floor(1e-12, torch.float64) == 1e-12
    tiny16 = torch.finfo(torch.float16).tiny
    assert norm_floor(1e-12, torch.float16) == tiny16
    assert norm_floor(1e-3, torch.float16) == 1e-3
    assert torch.tensor(norm_floor(1e-12, torch.float16),
                        dtype=torch.float16) > 0  # representable
    with pytest.raises(ValueError, match='-1.0'):
        norm_floor(-1., torch.float32)


@pytest.mark.parametrize('dtype', LOW)
def test_l2_normalize_zero_vector_is_finite(dtype):
    """F.normalize in fp16 gives NaN for a zero row (eps=1e-12 is 0
    there); here the row stays zero and the gradient is finite."""
    x = torch.randn(4, 16)
    x[1] = 0
    x = x.to(dtype).requires_grad_()
    out = l2_normalize(x, dim=1)
    assert out.dtype == dtype
    assert torch.isfinite(out).all()
    assert torch.equal(out[1], torch.zeros(16, dtype=dtype))
    ref = F.normalize(x.detach().float(), dim=1)
    tol = 1e-3 if dtype == torch.float16 else 8e-3
    torch.testing.assert_close(out.float(), ref, rtol=tol, atol=tol)
    out.float().sum().backward()
    assert torch.isfinite(x.grad).all()


def test_l2_normalize_fp32_is_f_normalize():
    x = torch.randn(5, 7)
    x[2] = 0
    torch.testing.assert_close(l2_normalize(x, dim=1, eps=1e-6),
                               F.normalize(x, dim=1, eps=1e-6))
    torch.testing.assert_close(l2_normalize(x, dim=0), F.normalize(x, dim=0))


def test_logit_adjust_adds_the_log_prior():
    """Direct check of the sign and the scale: zero logits become
    ``tau * log(n_c)``, so the head class gets the largest adjusted logit
    and softmax of the adjusted zero logits is the training prior
    ``n_c / N`` (a flipped sign would give the tail class the largest)."""
    counts = torch.tensor([100, 10, 1])
    out = logit_adjust(torch.zeros(2, 3), counts)
    torch.testing.assert_close(
        out, torch.log(torch.tensor([[100., 10., 1.]] * 2)))
    assert out[0].argmax().item() == 0
    torch.testing.assert_close(out.softmax(dim=1)[0],
                               torch.tensor([100., 10., 1.]) / 111.)
    # tau scales the prior; tau=0 is the identity
    logits = torch.tensor([[1., -2., 3.]])
    torch.testing.assert_close(
        logit_adjust(logits, counts, tau=0.5),
        logits + 0.5 * torch.log(torch.tensor([100., 10., 1.])))
    torch.testing.assert_close(logit_adjust(logits, counts, tau=0.), logits)
    # the same result from a cached fp32 prior
    torch.testing.assert_close(
        logit_adjust(logits, counts, log_prior=class_log_prior(counts)),
        logit_adjust(logits, counts))


def test_class_log_prior_sign():
    prior = class_log_prior(torch.tensor([1, 1000]))
    assert prior[0].item() == 0.0
    assert prior[1].item() == pytest.approx(np.log(1000.), rel=1e-7)
