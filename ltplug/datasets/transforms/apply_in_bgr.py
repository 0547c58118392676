# Copyright (c) ltplug contributors. All rights reserved.
from typing import List, Optional, Union

import numpy as np
from mmcv.transforms import BaseTransform, Compose
from mmpretrain.registry import TRANSFORMS

from .utils import check_choice

CHANNEL_ORDERS = ('rgb', 'bgr')


@TRANSFORMS.register_module()
class ApplyInBGR(BaseTransform):
    """Run transforms that assume BGR images on an image of any channel
    order.

    MMCV's colour operations assume BGR: the grey image that
    ``adjust_contrast`` / ``adjust_color`` (contrast, saturation, the
    AutoAugment / RandAugment ``Contrast`` and ``ColorTransform``) blend
    with uses BGR weights (0.114, 0.587, 0.299), and the ``'pillow'``
    backend of ``ColorJitter`` reverses the channels before handing the
    image to PIL. On the RGB arrays of MMPretrain's CIFAR datasets these
    weigh red and blue the wrong way round. With ``channel_order='rgb'``
    this wrapper reverses the channels to BGR, runs ``transforms`` and
    reverses them back, so the inner transforms see what they expect;
    ``'bgr'`` runs them unchanged (images loaded from files).

    Inside the wrapper give colour-valued arguments (``pad_val``,
    ``RandomGrayscale``'s ``channel_weights``) in BGR order.

    Args:
        transforms (list[dict | callable]): The transforms to wrap.
        channel_order (str): The order of ``results['img']``: ``'rgb'`` or
            ``'bgr'``. Defaults to ``'rgb'``.
    """

    def __init__(self,
                 transforms: List[Union[dict, callable]],
                 channel_order: str = 'rgb') -> None:
        check_choice('ApplyInBGR', 'channel_order', channel_order,
                     CHANNEL_ORDERS)
        self.channel_order = channel_order
        self.transforms = Compose(transforms)

    @staticmethod
    def _swap(results: dict) -> None:
        img = results.get('img')
        if isinstance(img, np.ndarray) and img.ndim == 3 and \
                img.shape[2] == 3:
            results['img'] = np.ascontiguousarray(img[..., ::-1])

    def transform(self, results: dict) -> Optional[dict]:
        """Apply the wrapped transforms in BGR order."""
        if self.channel_order == 'bgr':
            return self.transforms(results)
        self._swap(results)
        results = self.transforms(results)
        if results is not None:
            self._swap(results)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(channel_order='
                f'{self.channel_order!r}, transforms={self.transforms})')
