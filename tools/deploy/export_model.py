# Copyright (c) ltplug contributors. All rights reserved.
"""Export a trained ltplug model for inference only.

Writes ``DIR/model.py`` (a self-contained config: no ``_base_``, teacher,
MoCo queue, EMA copy or initialisation file) and ``DIR/model.pth`` (that
model's weights, loadable with ``weights_only=True`` and strictly into
``DIR/model.py``), after checking that the exported model gives the
original model's test-mode logits and scores (max abs difference <=
``--atol``)::

    python tools/deploy/export_model.py CONFIG CHECKPOINT --out-dir DIR \\
        [--head soft|hard]

The result is used like any MMPretrain model::

    from mmpretrain import ImageClassificationInferencer, get_model
    ImageClassificationInferencer('DIR/model.py', pretrained='DIR/model.pth')
    get_model('DIR/model.py', pretrained='DIR/model.pth')
    python tools/test.py DIR/model.py DIR/model.pth
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

import ltplug  # noqa: E402,F401  (registers components, installs fixes)
from ltplug.apis.export import HEADS, export_model  # noqa: E402
from mmengine.config import DictAction  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Export a trained ltplug model for inference only')
    parser.add_argument('config', help='the training (or test) config')
    parser.add_argument('checkpoint', help='its trained checkpoint')
    parser.add_argument(
        '--out-dir', required=True, help='folder for model.py / model.pth')
    parser.add_argument(
        '--head',
        choices=HEADS,
        default=None,
        help='SSD stage III only: the soft head (official primary) or the '
        'hard head; default: the config\'s predict_head (soft)')
    parser.add_argument(
        '--atol',
        type=float,
        default=1e-5,
        help='largest max abs difference to the original model allowed')
    parser.add_argument(
        '--no-verify',
        action='store_true',
        help='skip building the original model and comparing outputs')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    """Entry point; returns :func:`export_model`'s summary."""
    args = parse_args(argv)
    result = export_model(
        args.config,
        args.checkpoint,
        args.out_dir,
        head=args.head,
        cfg_options=args.cfg_options,
        verify=not args.no_verify,
        atol=args.atol)
    print(json.dumps(result, indent=2))
    return result


if __name__ == '__main__':
    main()
