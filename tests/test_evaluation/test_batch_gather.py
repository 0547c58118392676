# Copyright (c) ltplug contributors. All rights reserved.
"""The per-batch gathering helpers of the metrics: ``sample_field`` and
``read_batch`` read the samples (dicts or DataSamples), ``stack_rows``
stacks their tensors on their device, ``first_elements`` gathers labels
without reading them on the host."""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from ltplug.evaluation.functional import (first_elements, read_batch,
                                          sample_field, stack_rows)


@pytest.mark.parametrize('case', ['head_rows', 'separate', 'numpy', 'lists'])
def test_stack_rows_stacks_what_is_not_one_tensor(case):
    scores = torch.randn(4, 6)
    rows = {
        'head_rows': list(scores),  # rows of one (B, C) output
        'separate': [r.clone() for r in scores],
        'numpy': [r.numpy().copy() for r in scores],
        'lists': [r.tolist() for r in scores],
    }[case]
    out = stack_rows(rows)
    assert out.shape == (4, 6)
    assert torch.allclose(out, scores)


def test_stack_rows_detached_and_shape_error():
    scores = torch.randn(4, 6, requires_grad=True)
    out = stack_rows(list(scores))
    assert torch.equal(out, scores) and not out.requires_grad
    # a copy: the metric keeps nothing that aliases the model's output
    assert out.data_ptr() != scores.data_ptr()
    with pytest.raises(ValueError, match=r'\[\(4,\), \(6,\)\]'):
        stack_rows([torch.zeros(6), torch.zeros(4)])


def test_first_elements():
    values = [torch.tensor([3]), torch.tensor([0])]
    out = first_elements(values)
    assert out.dtype == torch.int64 and out.tolist() == [3, 0]
    # numbers, arrays, 0-d and longer tensors: the first element of each
    mixed = [2, np.array([4, 9]), torch.tensor(5), torch.tensor([[7, 1]])]
    assert first_elements(mixed).tolist() == [2, 4, 5, 7]
    assert first_elements([]).shape == (0, )
    assert first_elements(values, device='cpu').device.type == 'cpu'
    with pytest.raises(ValueError, match='sample 1 has an empty value'):
        first_elements([torch.tensor([1]), torch.tensor([])])


def test_stack_rows_keeps_the_rows_device():
    """CPU rows stay on the CPU; the device is the first non-CPU one among
    the rows (checked with the CPU and 'meta', so no accelerator needed)."""
    cpu = [torch.zeros(3), torch.ones(3)]
    assert stack_rows(cpu).device.type == 'cpu'
    meta = [torch.zeros(3, device='meta'), torch.zeros(3, device='meta')]
    assert stack_rows(meta).device.type == 'meta'


def test_sample_field_dict_and_data_sample():
    ds = DataSample().set_gt_label(2).set_pred_score(torch.tensor([.1, .9]))
    for sample in (ds, ds.to_dict()):
        assert sample_field(sample, 'gt_label').tolist() == [2]
        assert torch.equal(sample_field(sample, 'pred_score'),
                           torch.tensor([.1, .9]))
        assert sample_field(sample, 'expert_logits') is None


def test_read_batch():
    scores = torch.rand(3, 5)
    samples = [
        DataSample().set_gt_label(i).set_pred_score(s).to_dict()
        for i, s in enumerate(scores)
    ]
    labels, batch = read_batch(samples, 'pred_score', 'Owner')
    assert first_elements(labels).tolist() == [0, 1, 2]
    assert torch.equal(batch, scores)
    # a sample without the field: no batch, the labels still come back
    del samples[1]['pred_score']
    labels, batch = read_batch(samples, 'pred_score', 'Owner')
    assert batch is None and len(labels) == 3
    with pytest.raises(KeyError, match=r"Owner needs gt_label .*'pred_score'"):
        read_batch([dict(pred_score=scores[0])], 'pred_score', 'Owner')
