# Copyright (c) ltplug contributors. All rights reserved.
"""INaturalist2018 on the real val2018 list; no test split."""
import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from ltplug.datasets import get_class_counts


def build(root, split, **kwargs):
    return DATASETS.build(
        dict(type='INaturalist2018', data_root=root, split=split, **kwargs))


def test_real_val_list(lt_lists_dir):
    # no train list here: use the val list's own counts as a stand-in
    ds = build(lt_lists_dir, 'val', class_counts_file='iNaturalist18_val.txt')
    assert len(ds) == 24426
    assert np.bincount(ds.get_gt_labels()).tolist() == [3] * 8142
    assert get_class_counts(ds).tolist() == [3] * 8142
    info = ds.get_data_info(0)
    assert info['img_path'].endswith(
        'train_val2018/Plantae/7291/9f8ecb39e5f767e39e9b28e34488f179.jpg')
    assert info['gt_label'] == 7291  # the official category_id


def test_val_reads_train_counts_by_default(tmp_path):
    (tmp_path / 'iNaturalist18_train.txt').write_text(''.join(
        f'train_val2018/K/{c}/{k}.jpg {c}\n' for c in range(8142)
        for k in range(1 + (c == 5))))
    (tmp_path / 'iNaturalist18_val.txt').write_text('train_val2018/K/5/x.jpg '
                                                    '5\n')
    ds = build(str(tmp_path), 'val')
    counts = get_class_counts(ds)
    assert counts.sum() == 8143 and counts[5] == 2 and len(ds) == 1


def test_no_test_split(lt_lists_dir):
    with pytest.raises(ValueError, match=r"no test split.*split='val'"):
        build(lt_lists_dir, 'test')
