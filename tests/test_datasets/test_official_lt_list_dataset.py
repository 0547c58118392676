# Copyright (c) ltplug contributors. All rights reserved.
"""OfficialLTListDataset, the base of ImageNetLT / PlacesLT /
INaturalist2018: split -> official list, training counts of the other
splits from the train list, the split error (with its hint)."""
import pytest
from mmpretrain.registry import DATASETS

from ltplug.datasets import ImageNetLT, INaturalist2018, PlacesLT
from ltplug.datasets.official_lt_list_dataset import OfficialLTListDataset


@DATASETS.register_module(name='ToyOfficialLT', force=True)
class ToyOfficialLT(OfficialLTListDataset):
    """Three classes, a train and an eval list."""

    NUM_CLASSES = 3
    LIST_FILES = dict(train='toy_train.txt', eval='toy_eval.txt')
    SPLIT_HINT = ' (the toy has no test split)'


def build(root, **kwargs):
    return DATASETS.build(dict(type='ToyOfficialLT', data_root=str(root),
                               **kwargs))


@pytest.fixture
def root(tmp_path):
    (tmp_path / 'toy_train.txt').write_text('a.jpg 0\nb.jpg 0\nc.jpg 2\n'
                                            'd.jpg 1\ne.jpg 0\n')
    (tmp_path / 'toy_eval.txt').write_text('f.jpg 1\ng.jpg 2\n')
    (tmp_path / 'other.txt').write_text('h.jpg 2\n')
    return tmp_path


def test_the_list_datasets_share_this_base():
    for cls in (ImageNetLT, PlacesLT, INaturalist2018):
        assert issubclass(cls, OfficialLTListDataset)
        assert 'train' in cls.LIST_FILES and cls.NUM_CLASSES > 1
        assert DATASETS.get(cls.__name__) is cls


def test_train_split_counts_itself(root):
    ds = build(root)
    assert ds.split == 'train' and ds.num_classes == 3 and len(ds) == 5
    assert ds.metainfo['class_counts'] == [3, 1, 1]
    assert ds.ann_file == str(root / 'toy_train.txt')
    assert 'Split: \ttrain' in repr(ds)


def test_other_split_reads_the_train_counts(root):
    ds = build(root, split='eval')
    assert len(ds) == 2 and ds.metainfo['class_counts'] == [3, 1, 1]
    assert ds.counts_source == str(root / 'toy_train.txt')
    assert 'Split: \teval' in repr(ds)
    (root / 'toy_train.txt').unlink()
    with pytest.raises(FileNotFoundError, match='toy_train.txt'):
        build(root, split='eval')
    # given counts need no train list
    ds = build(root, split='eval', class_counts=[4, 5, 6])
    assert ds.metainfo['class_counts'] == [4, 5, 6]


def test_ann_file_and_counts_file_override(root):
    ds = build(root, split='eval', ann_file='other.txt',
               class_counts_file='toy_eval.txt', allow_empty_classes=True)
    assert len(ds) == 1 and ds.get_data_info(0)['gt_label'] == 2
    assert ds.metainfo['class_counts'] == [0, 1, 1]
    with pytest.raises(ValueError, match='label 2 is out of range for '
                       'num_classes=2'):
        build(root, num_classes=2)


def test_bad_split_names_the_splits_and_the_hint(root):
    with pytest.raises(ValueError, match=r"^ToyOfficialLT: split must be "
                       r"one of \('train', 'eval'\), but got 'test' \(the "
                       r'toy has no test split\)$'):
        build(root, split='test')
