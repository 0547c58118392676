# Copyright (c) ltplug contributors. All rights reserved.
"""Convert iNaturalist 2018's official annotations to an ltplug list.

The official ``train2018.json`` / ``val2018.json`` (COCO style: ``images``
with ``id`` and ``file_name``, ``annotations`` with ``image_id`` and
``category_id``, ``categories`` with ``id``) become the
``relative/path label`` list that ``INaturalist2018`` reads, one line per
image in the JSON's image order: ``file_name category_id``, e.g.
``train_val2018/Plantae/7291/9f8ecb39e5f767e39e9b28e34488f179.jpg 7291``::

    python tools/dataset_converters/inat2018_to_list.py \\
        data/inat2018/train2018.json data/inat2018/iNaturalist18_train.txt
    python tools/dataset_converters/inat2018_to_list.py \\
        data/inat2018/val2018.json data/inat2018/iNaturalist18_val.txt

The official files give 437,513 train and 24,426 val lines, 8142 classes
(the lists of classifier-balancing, which ltplug's configs name, are the
same images in the same order). Refused, naming the image: an image with
no annotation (e.g. ``test2018.json``, which has none), an image with
several annotations, a category not in ``categories``, a duplicate image
id, an annotation of an unknown image, and a file name with whitespace
(the list format splits on it). The list is written atomically.
"""
import argparse
import json
import os.path as osp
import sys
from collections import Counter
from typing import List, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

__all__ = ['convert', 'list_lines', 'main']


def _need(obj: dict, key: str, where: str):
    if not isinstance(obj, dict) or key not in obj:
        raise ValueError(f'{where} has no {key!r} (got {str(obj)[:120]})')
    return obj[key]


def list_lines(ann: dict, source: str = '<json>') -> List[str]:
    """The list lines (``file_name category_id``) of an annotation dict.

    Args:
        ann (dict): The loaded official JSON.
        source (str): Names the file in messages. Defaults to '<json>'.

    Returns:
        list[str]: One line per image, in ``ann['images']`` order.

    Raises:
        ValueError: On a missing key, an image without or with several
            annotations, an unknown category or image, a duplicate image id
            or a file name containing whitespace.
    """
    if not isinstance(ann, dict):
        raise ValueError(f'{source}: expected a JSON object, but got '
                         f'{type(ann).__name__}')
    images = _need(ann, 'images', source)
    annotations = _need(ann, 'annotations', source)
    categories = _need(ann, 'categories', source)
    known = {_need(c, 'id', f'{source}: category {i}')
             for i, c in enumerate(categories)}
    ids = {}
    for i, img in enumerate(images):
        image_id = _need(img, 'id', f'{source}: image {i}')
        if image_id in ids:
            raise ValueError(f'{source}: image id {image_id!r} appears twice '
                             f'(images {ids[image_id]} and {i})')
        ids[image_id] = i
    labels = {}
    for j, a in enumerate(annotations):
        where = f'{source}: annotation {j}'
        image_id = _need(a, 'image_id', where)
        category = _need(a, 'category_id', where)
        if image_id not in ids:
            raise ValueError(f'{where} is of image_id {image_id!r}, which '
                             'is not in `images`')
        if category not in known:
            raise ValueError(f'{where} (image_id {image_id!r}) has '
                             f'category_id {category!r}, which is not in '
                             '`categories`')
        if image_id in labels:
            raise ValueError(
                f'{source}: image_id {image_id!r} has several annotations '
                f'(categories {labels[image_id][1]!r} and {category!r}, '
                f'annotations {labels[image_id][0]} and {j}); iNaturalist '
                'images have exactly one')
        labels[image_id] = (j, category)
    if not annotations and images:
        raise ValueError(f'{source} has {len(images)} images but no '
                         'annotations (test2018.json has no labels)')
    lines = []
    for i, img in enumerate(images):
        name = _need(img, 'file_name', f'{source}: image {i}')
        if not isinstance(name, str) or not name or any(
                ch.isspace() for ch in name):
            raise ValueError(f'{source}: image {i} (id {img["id"]!r}) has '
                             f'file_name {name!r}; the list format needs a '
                             'non-empty name without whitespace')
        if img['id'] not in labels:
            raise ValueError(f'{source}: image {i} (id {img["id"]!r}, '
                             f'{name!r}) has no annotation')
        category = labels[img['id']][1]
        if isinstance(category, bool) or not isinstance(category, int) or \
                category < 0:
            raise ValueError(f'{source}: image {name!r} has category_id '
                             f'{category!r}; expected an int >= 0')
        lines.append(f'{name} {category}')
    return lines


def convert(ann_file: str, out_file: str) -> Tuple[int, int]:
    """Write ``out_file`` from the official JSON ``ann_file``.

    Args:
        ann_file (str): ``train2018.json`` or ``val2018.json``.
        out_file (str): The list to write (replaced atomically).

    Returns:
        tuple[int, int]: Number of lines and of distinct categories.
    """
    from ltplug.utils.atomic import atomic_open
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file "{ann_file}" does not '
                                'exist')
    print(f'reading {ann_file} ...', flush=True)
    with open(ann_file, encoding='utf-8') as f:
        try:
            ann = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'{ann_file} is not valid JSON: {e}') from None
    lines = list_lines(ann, source=ann_file)
    classes = len(Counter(int(line.rsplit(' ', 1)[1]) for line in lines))
    with atomic_open(out_file, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + ('\n' if lines else ''))
    print(f'wrote {out_file}: {len(lines)} images, {classes} classes',
          flush=True)
    return len(lines), classes


def main(argv=None) -> Tuple[int, int]:
    """Entry point."""
    parser = argparse.ArgumentParser(
        description='iNaturalist 2018 official JSON -> ltplug list')
    parser.add_argument('ann_json', help='train2018.json or val2018.json')
    parser.add_argument('out_txt', help='the list to write')
    args = parser.parse_args(argv)
    try:
        return convert(args.ann_json, args.out_txt)
    except (ValueError, FileNotFoundError) as e:
        parser.exit(1, f'error: {e}\n')


if __name__ == '__main__':
    main()
