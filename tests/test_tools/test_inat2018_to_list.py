# Copyright (c) ltplug contributors. All rights reserved.
"""tools/dataset_converters/inat2018_to_list.py on small JSON files in the
official iNaturalist-2018 schema, written by the test."""
import json
import os.path as osp

import pytest

from ltplug.datasets.list_file import parse_list_file
from tests.helpers import ROOT, load_script, run_tool

TOOL = 'tools/dataset_converters/inat2018_to_list.py'


def load_tool():
    return load_script(TOOL)


def official(images=None, annotations=None, categories=None) -> dict:
    """A train2018.json-like dict: image ids not in file order, annotations
    in another order than the images, extra official keys."""
    if images is None:
        images = [
            dict(id=12, file_name='train_val2018/Plantae/7291/a1.jpg',
                 width=800, height=600, license=3, rights_holder='x'),
            dict(id=3, file_name='train_val2018/Insecta/673/b2.jpg',
                 width=640, height=480, license=1, rights_holder='y'),
            dict(id=7, file_name='train_val2018/Plantae/0/c3.jpg',
                 width=500, height=500, license=1, rights_holder='z'),
        ]
    if annotations is None:
        annotations = [
            dict(id=0, image_id=7, category_id=0),
            dict(id=1, image_id=12, category_id=7291),
            dict(id=2, image_id=3, category_id=673),
        ]
    if categories is None:
        categories = [
            dict(id=i, name=f'sp{i}', supercategory='Plantae',
                 kingdom='Plantae') for i in (0, 673, 7291)
        ]
    return dict(info=dict(year=2018), images=images,
                annotations=annotations, categories=categories,
                licenses=[dict(id=1)])


def write(tmp_path, ann, name='train2018.json'):
    path = str(tmp_path / name)
    with open(path, 'w') as f:
        json.dump(ann, f)
    return path


def test_lines_in_image_order_and_readable_by_ltplug(tmp_path):
    ann = write(tmp_path, official())
    out = str(tmp_path / 'iNaturalist18_train.txt')
    proc = run_tool([TOOL, ann, out])
    assert '3 images, 3 classes' in proc.stdout
    with open(out) as f:
        assert f.read() == ('train_val2018/Plantae/7291/a1.jpg 7291\n'
                            'train_val2018/Insecta/673/b2.jpg 673\n'
                            'train_val2018/Plantae/0/c3.jpg 0\n')
    paths, labels, _ = parse_list_file(out, num_classes=8142)
    assert paths[1] == 'train_val2018/Insecta/673/b2.jpg'
    assert labels.tolist() == [7291, 673, 0]


@pytest.mark.parametrize('case,match', [
    ('no_annotation', r'image 2 \(id 7, .*c3\.jpg.*\) has no annotation'),
    ('two_annotations', r'image_id 12 has several annotations'),
    ('unknown_category', r'category_id 5.*not in `categories`'),
    ('unknown_image', r'image_id 99.*not in `images`'),
    ('duplicate_id', r'image id 3 appears twice'),
    ('space_in_name', r"file_name 'train_val2018/a b\.jpg'"),
    ('test_split', r'3 images but no annotations'),
    ('missing_key', r"annotation 0 has no 'category_id'"),
])
def test_clear_errors(tmp_path, case, match):
    ann = official()
    if case == 'no_annotation':
        ann['annotations'] = ann['annotations'][1:]
    elif case == 'two_annotations':
        ann['annotations'].append(dict(id=3, image_id=12, category_id=0))
    elif case == 'unknown_category':
        ann['annotations'][0]['category_id'] = 5
    elif case == 'unknown_image':
        ann['annotations'][0]['image_id'] = 99
    elif case == 'duplicate_id':
        ann['images'][2]['id'] = 3
    elif case == 'space_in_name':
        ann['images'][0]['file_name'] = 'train_val2018/a b.jpg'
    elif case == 'test_split':
        ann['annotations'] = []
    elif case == 'missing_key':
        del ann['annotations'][0]['category_id']
    tool = load_tool()
    with pytest.raises(ValueError, match=match):
        tool.list_lines(ann, source='train2018.json')
    # nothing is written
    out = tmp_path / 'out.txt'
    with pytest.raises(ValueError, match=match):
        tool.convert(write(tmp_path, ann), str(out))
    assert not out.exists()


def test_cli_error_exits_1_and_keeps_the_old_list(tmp_path):
    ann = official()
    ann['annotations'] = ann['annotations'][1:]
    out = tmp_path / 'out.txt'
    out.write_text('old\n')
    proc = run_tool([TOOL, write(tmp_path, ann), str(out)], check=False)
    assert proc.returncode == 1
    assert 'error:' in proc.stdout and 'has no annotation' in proc.stdout
    assert out.read_text() == 'old\n'


def test_missing_and_invalid_files(tmp_path):
    tool = load_tool()
    with pytest.raises(FileNotFoundError, match='nope.json'):
        tool.convert(str(tmp_path / 'nope.json'), str(tmp_path / 'o.txt'))
    bad = tmp_path / 'bad.json'
    bad.write_text('{"images": [')
    with pytest.raises(ValueError, match='bad.json is not valid JSON'):
        tool.convert(str(bad), str(tmp_path / 'o.txt'))


def test_round_trip_of_the_real_val_list(tmp_path, lt_lists_dir):
    """An official-schema JSON holding the real iNaturalist18_val.txt's
    24,426 images (ids shuffled, annotations in another order) converts
    back to exactly that list."""
    import numpy as np
    real = osp.join(lt_lists_dir, 'iNaturalist18_val.txt')
    with open(real) as f:
        rows = [line.split() for line in f.read().splitlines()]
    rng = np.random.default_rng(0)
    ids = rng.permutation(10 * len(rows))[:len(rows)].tolist()
    images = [dict(id=i, file_name=p, width=1, height=1)
              for i, (p, _) in zip(ids, rows)]
    annotations = [dict(id=j, image_id=ids[k], category_id=int(rows[k][1]))
                   for j, k in enumerate(rng.permutation(len(rows)))]
    categories = [dict(id=c, name=str(c)) for c in range(8142)]
    ann = write(tmp_path, official(images, annotations, categories),
                'val2018.json')
    out = str(tmp_path / 'val.txt')
    assert load_tool().convert(ann, out) == (24426, 8142)
    with open(out) as f, open(real) as g:
        assert f.read() == g.read()


def test_docs_quote_the_official_line_counts(lt_lists_dir):
    """docs/datasets.md gives the counts of the shared official lists."""
    doc = open(osp.join(ROOT, 'docs', 'datasets.md')).read()
    for name in ('ImageNet_LT_val.txt', 'ImageNet_LT_test.txt',
                 'Places_LT_train.txt', 'Places_LT_val.txt',
                 'Places_LT_test.txt', 'iNaturalist18_val.txt'):
        with open(osp.join(lt_lists_dir, name)) as f:
            n = sum(1 for _ in f)
        assert f'`{name}` ({n:,})' in doc, (name, n)
    for quoted in ('(115,846)', '(437,513)'):  # train lists not shared
        assert quoted in doc
