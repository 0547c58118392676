# Copyright (c) ltplug contributors. All rights reserved.
"""Convert a checkpoint you trust into a weights-only one.

``ltplug`` refuses checkpoints whose pickle could run code. If you trust such
a file (you made it yourself, or it comes from a source you trust), run::

    python tools/misc/convert_trusted_checkpoint.py IN.pth OUT.pth

It is loaded once with ``weights_only=False`` (that runs its pickle: only do
this for files you trust) and its ``state_dict`` (and ``meta`` when it is
plain data) are saved to ``OUT.pth``, which loads safely everywhere.
"""
import argparse

import torch


def main(argv=None) -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='the trusted checkpoint')
    parser.add_argument('dst', help='where to write the weights-only copy')
    args = parser.parse_args(argv)
    ckpt = torch.load(args.src, map_location='cpu', weights_only=False)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise SystemExit(f'{args.src}: no state_dict of tensors found')
    out = dict(state_dict=state)
    torch.save(out, args.dst)
    print(f'wrote {args.dst} ({len(state)} tensors)')


if __name__ == '__main__':
    main()
