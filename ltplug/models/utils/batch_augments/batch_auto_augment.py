# Copyright (c) ltplug contributors. All rights reserved.
import math
from typing import Dict, List, Optional

import torch
from mmpretrain.registry import MODELS

from .base_batch_augment import BaseBatchAugment

from . import photometric as P
from .geometric import (apply_grouped, rotation_matrix, shear_matrix,
                        translate_matrix, warp_affine)

#: MMPretrain op type -> the argument holding its value, and whether it
#: takes the random sign (``random_negative_prob``).
OP_VALUE_KEYS = {
    'Invert': (None, False),
    'AutoContrast': (None, False),
    'Equalize': (None, False),
    'Solarize': ('thr', False),
    'Posterize': ('bits', False),
    'Contrast': ('magnitude', True),
    'ColorTransform': ('magnitude', True),
    'Brightness': ('magnitude', True),
    'Sharpness': ('magnitude', True),
    'Rotate': ('angle', True),
    'Shear': ('magnitude', True),
    'Translate': ('magnitude', True),
}
#: MMPretrain's default interpolation of the geometric ops.
GEOMETRIC_INTERPOLATION = {
    'Rotate': 'nearest',
    'Shear': 'bicubic',
    'Translate': 'nearest',
}


def _op_fn(op: dict):
    """The batched function ``fn(imgs, value)`` of one policy op."""
    kind = op['type']
    pad = op.get('pad_val', 128)
    if isinstance(pad, (int, float)):
        # mmcv.imrotate hands an int border to cv2 as Scalar(v) = (v, 0, 0)
        # (BGR inside ApplyInBGR: blue); imshear / imtranslate repeat it
        pad = (0., 0., float(pad)) if kind == 'Rotate' else float(pad)
    else:
        pad = tuple(float(v) for v in pad[::-1])  # BGR (ApplyInBGR) -> RGB
    interp = op.get('interpolation', GEOMETRIC_INTERPOLATION.get(kind))
    direction = op.get('direction', 'horizontal')
    if kind == 'Invert':
        return lambda x, v: P.invert(x)
    if kind == 'AutoContrast':
        return lambda x, v: P.auto_contrast(x)
    if kind == 'Equalize':
        return lambda x, v: P.equalize(x)
    if kind == 'Solarize':
        return P.solarize
    if kind == 'Posterize':
        return P.posterize
    if kind == 'Contrast':
        return lambda x, v: P.mmcv_contrast(x, 1 + v)
    if kind == 'ColorTransform':
        return lambda x, v: P.mmcv_color(x, 1 + v)
    if kind == 'Brightness':
        return lambda x, v: P.mmcv_brightness(x, 1 + v)
    if kind == 'Sharpness':
        return lambda x, v: P.mmcv_sharpness(x, 1 + v)
    if kind == 'Rotate':
        return lambda x, v: warp_affine(
            x, rotation_matrix(v, *x.shape[2:]), interp, pad)
    if kind == 'Shear':
        return lambda x, v: warp_affine(x, shear_matrix(v, direction),
                                        interp, pad)
    size_dim = 3 if direction == 'horizontal' else 2
    return lambda x, v: warp_affine(
        x, translate_matrix(v * x.shape[size_dim], direction), interp, pad)


@MODELS.register_module()
class BatchAutoAugment(BaseBatchAugment):
    """MMPretrain's ``AutoAugment(policies)`` (fixed-magnitude policies,
    such as ltplug's ``cifar10_policy``) on a batch of RGB images.

    Each sample draws its own sub-policy (uniformly, as ``RandomChoice``),
    then each of the sub-policy's ops fires on its own draw with the op's
    ``prob``, and ops with a sign (shear, translate, rotate, the enhance
    ops) negate their value with ``random_negative_prob`` (default 0.5).
    The ops are MMCV's (what the per-sample policy calls): Invert,
    AutoContrast, Equalize, Solarize and Posterize exactly; Contrast,
    ColorTransform, Brightness, Sharpness with MMCV's cv2 arithmetic (the
    luminance weights apply to R, G, B as ``ApplyInBGR`` makes MMCV see
    them); Rotate / Translate (nearest) with OpenCV's fixed-point source
    coordinates; Shear (bicubic) with float instead of 15-bit weights
    (pixels may differ by 1) and ``cv2.filter2D``'s sharpening kernel in
    float32. Each op runs only on the samples that drew it.

    Args:
        policies (list[list[dict]]): Sub-policies, as MMPretrain's
            ``AutoAugment``; every op gives its value (``magnitude``,
            ``angle``, ``bits`` or ``thr``), not ``magnitude_range``.
        hparams (dict): Defaults merged into every op (the fill of the
            geometric ops). Defaults to ``dict(pad_val=128)``.
    """

    repr_keys = ('num_slots', 'ops')

    def __init__(self,
                 policies: List[List[dict]],
                 hparams: Optional[dict] = None) -> None:
        hparams = dict(pad_val=128) if hparams is None else hparams
        if not policies or not all(policies):
            raise ValueError(f'BatchAutoAugment: policies must be a '
                             f'non-empty list of non-empty sub-policies, but '
                             f'got {policies!r}')
        lengths = {len(sub) for sub in policies}
        self.num_slots = max(lengths)
        self.ops: List[dict] = []  # distinct (type, args) entries
        table = []  # per sub-policy and slot: (op id, prob, value, neg)
        for sub in policies:
            row = []
            for op in sub:
                op = {**hparams, **op}
                kind = op.get('type')
                if kind not in OP_VALUE_KEYS:
                    raise ValueError(
                        f'BatchAutoAugment: op type must be one of '
                        f'{sorted(OP_VALUE_KEYS)}, but got {kind!r}')
                if 'magnitude_range' in op:
                    raise ValueError(f'BatchAutoAugment: only fixed values '
                                     f'are supported, but got {op!r}')
                key, signed = OP_VALUE_KEYS[kind]
                value = float(op[key]) if key else 0.
                if kind == 'Posterize':
                    value = float(math.ceil(value))
                neg = float(op.get('random_negative_prob', 0.5)) \
                    if signed else 0.
                static = {k: v for k, v in op.items()
                          if k not in ('prob', 'random_negative_prob', key)}
                if static not in self.ops:
                    self.ops.append(static)
                row.append((self.ops.index(static), float(op.get('prob',
                                                                 0.5)),
                            value, neg))
            row += [(-1, 0., 0., 0.)] * (self.num_slots - len(row))
            table.append(row)
        tab = torch.tensor([[list(s) for s in row] for row in table],
                           dtype=torch.float64)
        self._op_id = tab[..., 0].long()  # (P, S)
        self._prob, self._value, self._neg = tab[..., 1], tab[..., 2], \
            tab[..., 3]
        self._fns = [_op_fn(op) for op in self.ops]
        self.policies = policies

    def sample_params(self, imgs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Draw per sample the sub-policy ``policy`` (``(N,)``), and per
        slot the op id ``op`` (-1: off), and its signed ``value``
        (``(N, S)``)."""
        n, dev = imgs.shape[0], imgs.device
        policy = torch.randint(0, len(self.policies), (n, ), device=dev)
        op_id = self._op_id.to(dev)[policy]
        fire = torch.rand(n, self.num_slots, device=dev,
                          dtype=torch.float64) <= self._prob.to(dev)[policy]
        neg = torch.rand(n, self.num_slots, device=dev,
                         dtype=torch.float64) < self._neg.to(dev)[policy]
        value = self._value.to(dev)[policy]
        value = torch.where(neg, -value, value)
        return dict(policy=policy, op=torch.where(fire, op_id, -1),
                    value=value)

    def apply(self, imgs: torch.Tensor,
              params: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Run every slot's ops on the samples that drew them (in
        place)."""
        ops, values = params['op'], params['value']
        for slot in range(ops.shape[1]):
            apply_grouped(imgs, ops[:, slot], self._fns, values[:, slot])
        return imgs
