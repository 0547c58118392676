# Copyright (c) ltplug contributors. All rights reserved.
"""PlacesLT on the real official lists: default file names per split,
training counts on every split, published sizes and shot groups."""
import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from ltplug.datasets import get_class_counts
from ltplug.evaluation.functional import shot_groups


def build(root, split, **kwargs):
    return DATASETS.build(
        dict(type='PlacesLT', data_root=root, split=split, **kwargs))


def test_train_split(lt_lists_dir):
    ds = build(lt_lists_dir, 'train')
    counts = get_class_counts(ds)
    assert len(ds) == 62500 == counts.sum()
    assert counts.size == 365 and counts.max() == 4980 and counts.min() == 5
    groups = shot_groups(counts)
    assert [int(groups[g].sum()) for g in ('many', 'medium', 'few')] == \
        [131, 163, 71]
    first = ds.get_data_info(0)
    assert first['img_path'].endswith('/train/airfield/00004851.jpg')
    assert first['gt_label'] == 0


@pytest.mark.parametrize('split,size,per_class,first', [
    ('val', 7300, 20, 'train/airfield/00002049.jpg'),
    ('test', 36500, 100, 'val/airfield/Places365_val_00003597.jpg'),
])
def test_eval_splits_carry_training_counts(lt_lists_dir, split, size,
                                           per_class, first):
    train_counts = np.bincount(
        [int(line.split()[1]) for line in open(
            f'{lt_lists_dir}/Places_LT_train.txt')], minlength=365)
    ds = build(lt_lists_dir, split)
    assert len(ds) == size
    assert np.bincount(ds.get_gt_labels()).tolist() == [per_class] * 365
    np.testing.assert_array_equal(get_class_counts(ds), train_counts)
    assert ds.get_data_info(0)['img_path'].endswith(first)
    assert ds.split == split and 'Places_LT_train.txt' in repr(ds)


def test_explicit_counts_skip_the_train_list(tmp_path):
    (tmp_path / 'Places_LT_val.txt').write_text('val/a/1.jpg 3\n')
    ds = build(str(tmp_path), 'val', class_counts=[9] * 365)
    assert len(ds) == 1 and get_class_counts(ds).tolist() == [9] * 365
    with pytest.raises(FileNotFoundError, match='Places_LT_train.txt'):
        build(str(tmp_path), 'val')


def test_bad_split(lt_lists_dir):
    with pytest.raises(ValueError, match=r"split must be one of \('train', "
                       r"'val', 'test'\), but got 'valid'"):
        build(lt_lists_dir, 'valid')
