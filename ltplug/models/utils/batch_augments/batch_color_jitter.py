# Copyright (c) ltplug contributors. All rights reserved.
from typing import Dict, Optional, Tuple

import torch
from mmpretrain.registry import MODELS

from .base_batch_augment import BaseBatchAugment, check_prob

from . import photometric as P
from .geometric import apply_grouped

#: the op order index of MMPretrain's ColorJitter (a permutation of 4)
_NAMES = ('brightness', 'contrast', 'saturation', 'hue')


@MODELS.register_module()
class BatchColorJitter(BaseBatchAugment):
    """MMPretrain's ``ColorJitter(brightness, contrast, saturation, hue)``
    with the ``'pillow'`` backend, optionally inside
    ``RandomApply(prob=...)``, on a batch of RGB images.

    Per sample: applied with probability ``prob``; its own random order of
    the four ops (``np.random.permutation(4)``); brightness / contrast /
    saturation factors uniform in ``[max(0, 1 - x), 1 + x]``, hue uniform
    in ``[-x, x]`` (shift ``int(h * 255) % 256`` of Pillow's uint8 hue,
    as ltplug's ``adjust_hue``). The ops follow Pillow's ImageEnhance
    (truncating blends, 16-bit luminance); hue looks its pixels up in
    tables of Pillow's own RGB <-> HSV conversions (128 MiB on the device,
    made on first use): all four are bit-exact.

    Args:
        brightness (float): Defaults to 0.
        contrast (float): Defaults to 0.
        saturation (float): Defaults to 0.
        hue (float): In ``[0, 0.5]``. Defaults to 0.
        prob (float): Probability per sample (``RandomApply``). Defaults
            to 1.
    """

    repr_keys = ('ranges', 'prob')

    def __init__(self,
                 brightness: float = 0.,
                 contrast: float = 0.,
                 saturation: float = 0.,
                 hue: float = 0.,
                 prob: float = 1.) -> None:
        for name, value in zip(_NAMES, (brightness, contrast, saturation,
                                        hue)):
            if value < 0 or (name == 'hue' and value > 0.5):
                raise ValueError(f'BatchColorJitter: {name} must be >= 0 '
                                 f'(hue <= 0.5), but got {value!r}')
        check_prob(self.__class__.__name__, prob)
        self.ranges: Tuple[Optional[Tuple[float, float]], ...] = tuple(
            None if not v else ((-v, v) if name == 'hue' else
                                (max(0., 1 - v), 1 + v))
            for name, v in zip(_NAMES, (brightness, contrast, saturation,
                                        hue)))
        self.prob = prob
        self._fns = (P.pil_brightness, P.pil_contrast, P.pil_saturation,
                     P.pil_hue)

    def sample_params(self, imgs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Draw ``apply`` (``(N,)``), ``order`` (``(N, 4)`` permutations)
        and ``factor`` (``(N, 4)``: the three factors, the hue shift
        0..255)."""
        n, dev = imgs.shape[0], imgs.device
        order = torch.rand(n, 4, device=dev).argsort(1)
        u = torch.rand(n, 4, device=dev, dtype=torch.float64)
        factor = torch.zeros(n, 4, device=dev, dtype=torch.float64)
        for i, rng in enumerate(self.ranges):
            if rng is not None:
                factor[:, i] = rng[0] + (rng[1] - rng[0]) * u[:, i]
        factor[:, 3] = torch.remainder(torch.trunc(factor[:, 3] * 255), 256)
        return dict(apply=torch.rand(n, device=dev) < self.prob,
                    order=order, factor=factor)

    def apply(self, imgs: torch.Tensor,
              params: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Run the ops in each sample's order (in place)."""
        on, order, factor = params['apply'], params['order'], \
            params['factor']
        # ops with no range (e.g. hue=0) never run
        active = torch.tensor([r is not None for r in self.ranges],
                              device=order.device)
        fns = [self._with_factor(op) for op in range(4)]
        for pos in range(4):
            ops = torch.where(on & active[order[:, pos]], order[:, pos], -1)
            apply_grouped(imgs, ops, fns, factor)
        return imgs

    def _with_factor(self, op: int):
        """Op ``op`` as ``fn(imgs, factor)`` taking its own column of the
        ``(N, 4)`` factors."""
        fn = self._fns[op]
        return lambda imgs, factor: fn(imgs, factor[:, op])
