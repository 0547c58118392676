# Copyright (c) ltplug contributors. All rights reserved.
from typing import Dict, Optional, Tuple

import torch


class BaseBatchAugment:
    """The interface of the ``Batch*`` ops (not registered itself).

    ``sample_params(imgs)`` draws every sample's random parameters (on the
    batch's device, with torch's global generator); ``apply(imgs, params)``
    is deterministic; calling the op does both. Subclasses list the
    attributes their ``repr`` shows in ``repr_keys``.
    """

    repr_keys: Tuple[str, ...] = ()

    def sample_params(self, imgs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Draw the parameters of every sample of ``imgs``."""
        raise NotImplementedError

    def apply(self, imgs: torch.Tensor,
              params: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Transform ``imgs`` with the given parameters."""
        raise NotImplementedError

    def __call__(self, imgs: torch.Tensor,
                 params: Optional[dict] = None) -> torch.Tensor:
        """Augment ``imgs`` (``(N, C, H, W)`` float, uint8 values) with
        ``params`` or a fresh draw."""
        return self.apply(imgs, params or self.sample_params(imgs))

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={getattr(self, k)!r}' for k in self.repr_keys)
        return f'{self.__class__.__name__}({args})'


def check_prob(op: str, prob: float) -> float:
    """``prob`` if it is in [0, 1]; else a ValueError quoting it."""
    if not 0. <= prob <= 1.:
        raise ValueError(f'{op}: prob must be in [0, 1], but got {prob!r}')
    return prob


def check_size(op: str, name: str, size) -> Tuple[int, int]:
    """``(h, w)`` from an int or a pair of positive ints; else a ValueError
    quoting it."""
    if isinstance(size, int):
        size = (size, size)
    if len(size) != 2 or min(size) <= 0:
        raise ValueError(f'{op}: {name} must be a positive int or (h, w), '
                         f'but got {size!r}')
    return tuple(size)
