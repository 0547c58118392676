# Copyright (c) ltplug contributors. All rights reserved.
"""The per-batch gathering helpers of the metrics: ``rows_as_batch`` sees
a head's per-sample rows as its batch tensor again (no copy),
``stack_rows`` falls back to stacking, ``first_elements`` gathers labels
without reading them on the host."""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from ltplug.evaluation.functional import (first_elements, rows_as_batch,
                                          stack_rows)


def test_rows_as_batch_sees_head_rows_without_copy():
    scores = torch.randn(6, 9)
    # a head's (B, C) output split per sample: a view, no copy
    view = rows_as_batch(list(scores))
    assert view is not None and view.data_ptr() == scores.data_ptr()
    assert torch.equal(view, scores)
    # rows of a column slice are spaced wider than their length
    sliced = scores[:, 2:7]
    assert torch.equal(rows_as_batch(list(sliced)), sliced)
    # rows with a stride of their own (columns of the matrix)
    assert torch.equal(rows_as_batch(list(scores.t())), scores.t())
    # DataSample keeps the view (what MMPretrain heads hand the metric)
    samples = [DataSample().set_pred_score(r).to_dict() for r in scores]
    assert rows_as_batch([s['pred_score'] for s in samples]) is not None
    assert torch.equal(rows_as_batch(list(scores[:1])), scores[:1])


def test_rows_as_batch_sees_expert_slices_without_copy():
    """(E, C) slices of a (B, E, C) tensor, as NCL hands expert_logits."""
    logits = torch.randn(5, 3, 11)
    view = rows_as_batch(list(logits))
    assert view.data_ptr() == logits.data_ptr()
    assert torch.equal(view, logits)
    # the slices of a (B, 2, C) tensor's transpose are not contiguous
    both = torch.randn(2, 5, 11).transpose(0, 1)
    assert torch.equal(rows_as_batch(list(both)), both)


@pytest.mark.parametrize('case', [
    'separate', 'reversed', 'mixed_dtype', 'not_tensor', 'gap',
    'own_storages', 'shapes', 'scalars', 'empty'])
def test_rows_as_batch_refuses_what_is_not_one_tensor(case):
    scores = torch.randn(5, 8)
    rows = {
        'separate': [r.clone() for r in scores],
        'reversed': list(scores)[::-1],
        'mixed_dtype': list(scores[:4]) + [scores[4].double()],
        'not_tensor': [r.numpy() for r in scores],
        'gap': [scores[0], scores[1], scores[3]],  # uneven spacing
        # evenly spaced, but each row its own storage: no view may span
        # them (torch refuses to read past the first row's storage)
        'own_storages': [torch.from_numpy(r) for r in scores.numpy()],
        'shapes': [scores[0], scores[1, :4]],
        'scalars': list(scores[0]),
        'empty': [],
    }[case]
    assert rows_as_batch(rows) is None


@pytest.mark.parametrize('case', ['separate', 'numpy', 'lists'])
def test_stack_rows_stacks_what_is_not_one_tensor(case):
    scores = torch.randn(4, 6)
    rows = {
        'separate': [r.clone() for r in scores],
        'numpy': [r.numpy().copy() for r in scores],
        'lists': [r.tolist() for r in scores],
    }[case]
    out = stack_rows(rows)
    assert out.shape == (4, 6)
    assert torch.allclose(out, scores)


def test_stack_rows_view_and_shape_error():
    scores = torch.randn(4, 6, requires_grad=True)
    out = stack_rows(list(scores))
    assert out.data_ptr() == scores.data_ptr() and not out.requires_grad
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
