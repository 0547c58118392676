# Copyright (c) ltplug contributors. All rights reserved.
"""ImageNetLT on the real val / test lists (the train list is not
available here: counts are passed or read from a written train list)."""
import os.path as osp

import numpy as np
import pytest
from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
from mmpretrain.registry import DATASETS

from ltplug.datasets import get_class_counts


def build(root, split, **kwargs):
    return DATASETS.build(
        dict(type='ImageNetLT', data_root=root, split=split, **kwargs))


@pytest.mark.parametrize('split,size,per_class,first', [
    ('val', 20000, 20, 'train/n01440764/n01440764_762.JPEG'),
    ('test', 50000, 50, 'val/n01440764/ILSVRC2012_val_00029930.JPEG'),
])
def test_real_eval_lists(lt_lists_dir, split, size, per_class, first):
    counts = list(range(1, 1001))
    ds = build(lt_lists_dir, split, class_counts=counts)
    assert len(ds) == size
    assert np.bincount(ds.get_gt_labels()).tolist() == [per_class] * 1000
    assert get_class_counts(ds).tolist() == counts
    assert ds.get_data_info(0)['img_path'] == osp.join(lt_lists_dir, first)
    # labels are sorted-WNID indices: MMPretrain's ImageNet names
    assert len(ds.metainfo['classes']) == 1000
    assert ds.metainfo['classes'][0] == IMAGENET_CATEGORIES[0]


def test_eval_split_needs_the_train_list(lt_lists_dir):
    with pytest.raises(FileNotFoundError,
                       match=r'ImageNet_LT_train\.txt, which does not exist'):
        build(lt_lists_dir, 'test')


def test_train_list_gives_counts_to_every_split(tmp_path):
    # 1000 classes, class c has c % 7 + 1 images
    labels = np.repeat(np.arange(1000), np.arange(1000) % 7 + 1)
    (tmp_path / 'ImageNet_LT_train.txt').write_text(''.join(
        f'train/n{c:08d}/{i}.JPEG {c}\n' for i, c in enumerate(labels)))
    (tmp_path / 'ImageNet_LT_test.txt').write_text('val/x/1.JPEG 999\n')
    expected = (np.arange(1000) % 7 + 1).tolist()
    train = build(str(tmp_path), 'train')
    test = build(str(tmp_path), 'test')
    assert len(train) == labels.size and len(test) == 1
    assert get_class_counts(train).tolist() == expected
    assert get_class_counts(test).tolist() == expected
