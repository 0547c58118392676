# Copyright (c) ltplug contributors. All rights reserved.
"""LTListDataset: training counts (own list, class_counts_file,
class_counts), empty classes, missing images (at load and lazily) named
by ``file:line``, and the real Places-LT lists."""
import os
import os.path as osp
import time

import numpy as np
import pytest
from mmpretrain.registry import DATASETS
from PIL import Image

from ltplug.datasets import get_class_counts
from ltplug.datasets.transforms import CorruptImageError
from ltplug.evaluation.functional import shot_groups


def write(folder, name, lines):
    path = osp.join(str(folder), name)
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(''.join(f'{ln}\n' for ln in lines))
    return path


def build(**kwargs):
    return DATASETS.build(dict(type='LTListDataset', **kwargs))


@pytest.fixture
def image_root(tmp_path):
    """``tmp_path`` with img/a.png, img/b.png (4x6 RGB) and a train list of
    class counts [3, 1, 2] and a val list of one image per class."""
    rng = np.random.default_rng(0)
    os.makedirs(tmp_path / 'img')
    for name in ('a', 'b'):
        Image.fromarray(rng.integers(0, 256, (4, 6, 3), np.uint8)).save(
            tmp_path / 'img' / f'{name}.png')
    write(tmp_path, 'train.txt', [
        'img/a.png 0', 'img/b.png 0', 'img/a.png 2', 'img/b.png 0',
        'img/a.png 1', 'img/b.png 2'
    ])
    write(tmp_path, 'val.txt', ['img/a.png 2', 'img/b.png 0', 'img/a.png 1'])
    return tmp_path


def test_own_counts_and_items(image_root):
    ds = build(ann_file='train.txt', data_root=str(image_root), num_classes=3,
               pipeline=[dict(type='LoadImageFromFile'),
                         dict(type='PackInputs')])
    assert len(ds) == 6
    assert get_class_counts(ds).tolist() == [3, 1, 2]
    assert ds.get_gt_labels().tolist() == [0, 0, 2, 0, 1, 2]
    assert ds.get_cat_ids(4) == [1]
    info = ds.get_data_info(2)
    assert info['img_path'] == osp.join(str(image_root), 'img', 'a.png')
    assert info['ann_line'] == 3
    item = ds[1]
    assert tuple(item['inputs'].shape) == (3, 4, 6)
    assert item['data_samples'].gt_label.tolist() == [0]


def test_val_split_takes_train_counts(image_root):
    val = build(ann_file='val.txt', data_root=str(image_root), num_classes=3,
                class_counts_file='train.txt')
    assert len(val) == 3
    assert get_class_counts(val).tolist() == [3, 1, 2]
    val2 = build(ann_file='val.txt', data_root=str(image_root),
                 num_classes=3, class_counts=[7, 8, 9])
    assert get_class_counts(val2).tolist() == [7, 8, 9]
    # the counts are known before loading with lazy_init
    lazy = build(ann_file='val.txt', data_root=str(image_root),
                 num_classes=3, class_counts_file='train.txt',
                 lazy_init=True)
    assert lazy.metainfo['class_counts'] == [3, 1, 2]


def test_indices_keep_the_full_training_counts(image_root):
    ds = build(ann_file='train.txt', data_root=str(image_root), num_classes=3,
               indices=2)
    assert len(ds) == 2
    assert get_class_counts(ds).tolist() == [3, 1, 2]


def test_data_prefix_and_classes(image_root):
    write(image_root, 'rel.txt', ['a.png 0', 'b.png 1'])
    ds = build(ann_file='rel.txt', data_root=str(image_root),
               data_prefix='img', classes=['cat', 'dog'])
    assert ds.metainfo['classes'] == ('cat', 'dog')
    assert ds.get_data_info(1)['img_path'] == osp.join(
        str(image_root), 'img', 'b.png')
    # absolute list path, no data_root: paths are kept as written
    ds = build(ann_file=osp.join(str(image_root), 'rel.txt'), num_classes=2)
    assert ds.get_data_info(0)['img_path'] == 'a.png'


def test_zero_training_images_is_an_error(image_root):
    write(image_root, 'gap.txt', ['img/a.png 0', 'img/b.png 2'])
    with pytest.raises(ValueError, match=r'gap\.txt: 2 of 4 classes have '
                       r'zero training images: \[1, 3\].*allow_empty'):
        build(ann_file='gap.txt', data_root=str(image_root), num_classes=4)
    ds = build(ann_file='gap.txt', data_root=str(image_root), num_classes=4,
               allow_empty_classes=True)
    assert get_class_counts(ds).tolist() == [1, 0, 1, 0]
    # the same check on a class_counts_file and on class_counts
    with pytest.raises(ValueError, match=r'gap\.txt: 2 of 4 classes'):
        build(ann_file='val.txt', data_root=str(image_root), num_classes=4,
              class_counts_file='gap.txt')
    with pytest.raises(ValueError, match=r'class_counts: 1 of 3 classes'):
        build(ann_file='val.txt', data_root=str(image_root), num_classes=3,
              class_counts=[4, 0, 1])


def test_val_list_may_miss_classes_when_counts_come_from_train(image_root):
    write(image_root, 'val_part.txt', ['img/a.png 2'])
    ds = build(ann_file='val_part.txt', data_root=str(image_root),
               num_classes=3, class_counts_file='train.txt')
    assert len(ds) == 1 and get_class_counts(ds).tolist() == [3, 1, 2]


@pytest.mark.parametrize('kwargs,message', [
    (dict(), 'needs num_classes or classes'),
    (dict(num_classes=0), 'num_classes must be >= 1, but got 0'),
    (dict(num_classes=3, classes=['a', 'b']), '2 class names given for '
     'num_classes=3'),
    (dict(num_classes=3, class_counts=[1, 2]), 'class_counts has 2 entries'),
    (dict(num_classes=3, class_counts=[1, 2, -1]), r'must be >= 0'),
    (dict(num_classes=3, class_counts=[1, 2, 3],
          class_counts_file='train.txt'), 'not both'),
])
def test_bad_arguments(image_root, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(ann_file='val.txt', data_root=str(image_root), **kwargs)


@pytest.mark.parametrize('num_classes,error,message', [
    (2.0, TypeError, r'LTListDataset: num_classes must be an int, but got '
     r'2\.0 \(float\)'),
    ('3', TypeError, r"num_classes must be an int, but got '3' \(str\); a "
     'quoted value'),
    (True, TypeError, 'num_classes must be an int, but got True'),
    (0, ValueError, 'num_classes must be >= 1, but got 0'),
])
def test_bad_num_classes_named(image_root, num_classes, error, message):
    with pytest.raises(error, match=message):
        build(ann_file='val.txt', data_root=str(image_root),
              num_classes=num_classes)


def test_numpy_num_classes_accepted(image_root):
    ds = build(ann_file='train.txt', data_root=str(image_root),
               num_classes=np.int64(3))
    assert ds.num_classes == 3 and type(ds.num_classes) is int


@pytest.mark.parametrize('counts,error,message', [
    (['3', '1', '2'], TypeError, r"class_counts must hold ints, but got '3' "
     r'\(str\)'),
    ('3,1,2', TypeError, "class_counts must be a list of ints, but got "
     "'3,1,2'"),
    ([3, True, 2], TypeError, 'class_counts must hold ints, but got True'),
    ([3, float('nan'), 2], ValueError, 'class_counts must hold integers'),
])
def test_bad_class_counts_types_named(image_root, counts, error, message):
    with pytest.raises(error, match=message):
        build(ann_file='val.txt', data_root=str(image_root), num_classes=3,
              class_counts=counts)


def test_bad_lines_are_named(image_root):
    write(image_root, 'bad.txt', ['img/a.png 0', 'img/b.png 7'])
    with pytest.raises(ValueError, match=r'bad\.txt:2: label 7 is out of '
                       r'range for num_classes=3'):
        build(ann_file='bad.txt', data_root=str(image_root), num_classes=3)
    # a bad train list is reported even when building the val split
    with pytest.raises(ValueError, match=r'bad\.txt:2: label 7'):
        build(ann_file='val.txt', data_root=str(image_root), num_classes=3,
              class_counts_file='bad.txt')


def test_missing_lists(image_root):
    with pytest.raises(FileNotFoundError, match=r'nope\.txt does not exist'):
        build(ann_file='nope.txt', data_root=str(image_root), num_classes=3)
    with pytest.raises(FileNotFoundError,
                       match=r'training counts from .*missing_train\.txt'):
        build(ann_file='val.txt', data_root=str(image_root), num_classes=3,
              class_counts_file='missing_train.txt')


def test_check_files_names_missing_images(image_root):
    write(image_root, 'holes.txt',
          ['img/a.png 0', 'img/gone.png 1', 'img/b.png 2', 'img/x/y.jpg 0'])
    with pytest.raises(FileNotFoundError) as info:
        build(ann_file='holes.txt', data_root=str(image_root), num_classes=3,
              check_files=True)
    text = str(info.value)
    assert '2 of 4 images' in text
    assert f'holes.txt:2: {osp.join(str(image_root), "img", "gone.png")}' \
        in text
    assert f'holes.txt:4: {osp.join(str(image_root), "img", "x", "y.jpg")}' \
        in text
    ok = build(ann_file='train.txt', data_root=str(image_root),
               num_classes=3, check_files=True)
    assert len(ok) == 6


def test_bom_and_crlf_list_finds_its_images(image_root):
    """A list saved with a UTF-8 BOM and CRLF line ends (Windows tools):
    line 1's image was reported missing although it exists."""
    with open(osp.join(str(image_root), 'win.txt'), 'wb') as f:
        f.write(b'\xef\xbb\xbfimg/a.png 0\r\nimg/b.png 2\r\nimg/a.png 1\r\n')
    ds = build(ann_file='win.txt', data_root=str(image_root), num_classes=3,
               check_files=True)
    assert ds.get_data_info(0)['img_path'] == osp.join(
        str(image_root), 'img', 'a.png')
    assert ds.get_gt_labels().tolist() == [0, 2, 1]


@pytest.mark.parametrize('loader', ['LoadImageFromFile',
                                    'LoadImageFromFileChecked'])
def test_lazy_missing_image_named_with_list_line(image_root, loader):
    write(image_root, 'holes.txt', ['img/a.png 0', 'img/gone.png 1',
                                    'img/b.png 2'])
    ds = build(ann_file='holes.txt', data_root=str(image_root),
               num_classes=3, test_mode=True,
               pipeline=[dict(type=loader), dict(type='PackInputs')])
    assert ds[0]['inputs'].shape[0] == 3
    with pytest.raises(FileNotFoundError, match=r'holes\.txt:2: cannot load '
                       r'image .*gone\.png'):
        ds[1]
    # in training mode too: the error is raised, never skipped
    ds.test_mode = False
    with pytest.raises(FileNotFoundError, match=r'holes\.txt:2'):
        ds[1]


def test_corrupt_image_named_with_list_line(image_root):
    with open(image_root / 'img' / 'a.png', 'rb') as f:
        data = f.read()
    with open(image_root / 'img' / 'cut.png', 'wb') as f:
        f.write(data[:len(data) // 2])
    write(image_root, 'cut.txt', ['img/b.png 0', 'img/cut.png 1'])
    ds = build(ann_file='cut.txt', data_root=str(image_root), num_classes=2,
               pipeline=[dict(type='LoadImageFromFileChecked')])
    with pytest.raises(CorruptImageError, match=r'cut\.txt:2: cannot load '
                       r'image .*cut\.png'):
        ds[1]


def test_places_lt_lists_through_the_generic_dataset(lt_lists_dir):
    train_list = osp.join(lt_lists_dir, 'Places_LT_train.txt')
    start = time.perf_counter()
    train = build(ann_file=train_list, num_classes=365)
    seconds = time.perf_counter() - start
    counts = get_class_counts(train)
    assert len(train) == 62500 == counts.sum()
    groups = shot_groups(counts)
    assert [int(groups[g].sum()) for g in ('many', 'medium', 'few')] == \
        [131, 163, 71]
    assert seconds < 30, f'loading 62,500 lines took {seconds:.1f} s'
    test = build(ann_file='Places_LT_test.txt', data_root=lt_lists_dir,
                 num_classes=365, class_counts_file='Places_LT_train.txt')
    assert len(test) == 36500
    np.testing.assert_array_equal(get_class_counts(test), counts)
    assert np.bincount(test.get_gt_labels()).tolist() == [100] * 365
