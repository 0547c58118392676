# Copyright (c) ltplug contributors. All rights reserved.
from numbers import Number
from typing import List, Optional, Sequence, Union

import torch
from mmpretrain.models.utils.data_preprocessor import ClsDataPreprocessor
from mmpretrain.registry import MODELS

from ..utils import batch_augments  # noqa: F401  (registers the ops)


@MODELS.register_module()
class BatchAugDataPreprocessor(ClsDataPreprocessor):
    """Random augmentation of whole batches on their device, then
    normalisation: the batched counterpart of a per-sample train pipeline.

    The dataset yields uint8 images with no random transform (a pipeline
    of ``PackInputs`` only); in training each of ``views`` runs its list of
    ``Batch*`` ops (``ltplug.models.utils.batch_augments``, each drawing
    its parameters per sample) on its own float copy of the uint8 batch,
    and the result is normalised. One view gives a tensor (as
    ``ClsDataPreprocessor``), several give a list of tensors (as
    ``SelfSupDataPreprocessor``, for the MoCo branches). Outside training
    the batch is only normalised (one tensor).

    The ops see RGB images: with ``to_rgb=True`` (BGR inputs) the channels
    are reversed before the ops, then ``mean`` / ``std`` apply in RGB
    order as in ``ClsDataPreprocessor``.

    Args:
        views (list[list[dict]], optional): Per view, the op configs
            (``MODELS``). Defaults to None (no augmentation: one view).
        mean (Sequence[Number], optional): Per-channel mean (0..255).
            Defaults to None.
        std (Sequence[Number], optional): Per-channel std. Defaults to
            None.
        to_rgb (bool): Reverse BGR inputs to RGB. Defaults to False.
        **kwargs: ``ClsDataPreprocessor``'s other arguments
            (``num_classes``, ``to_onehot``, ``batch_augments``: Mixup /
            CutMix, applied to the first view only).
    """

    def __init__(self,
                 views: Optional[List[List[dict]]] = None,
                 mean: Optional[Sequence[Number]] = None,
                 std: Optional[Sequence[Number]] = None,
                 to_rgb: bool = False,
                 **kwargs) -> None:
        super().__init__(mean=mean, std=std, to_rgb=False, **kwargs)
        views = [[]] if views is None else views
        if not isinstance(views, (list, tuple)) or not views or not all(
                isinstance(v, (list, tuple)) for v in views):
            raise ValueError(f'BatchAugDataPreprocessor: views must be a '
                             f'non-empty list of op lists, but got '
                             f'{views!r}')
        self.bgr_inputs = to_rgb
        self.views = [[MODELS.build(op) if isinstance(op, dict) else op
                       for op in view] for view in views]

    def _stack(self, inputs: Union[torch.Tensor,
                                   List[torch.Tensor]]) -> torch.Tensor:
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        inputs = self.cast_data(inputs)
        if self.bgr_inputs and inputs.size(1) == 3:
            inputs = inputs.flip(1)
        return inputs

    def _view_input(self, inputs: torch.Tensor) -> torch.Tensor:
        """A view's starting batch: a float copy of the stacked inputs
        (subclasses that crop per view, e.g. after decoding, override
        it)."""
        return inputs.float()

    def augment(self, inputs: Union[torch.Tensor, List[torch.Tensor]]
                ) -> List[torch.Tensor]:
        """Run every view's ops, in order, on its own starting batch
        (:meth:`_view_input`; uint8-valued results, not normalised).

        Args:
            inputs (torch.Tensor | list[torch.Tensor]): The stacked uint8
                batch (a subclass's own input, e.g. decoded images).

        Returns:
            list[torch.Tensor]: One ``(N, C, H, W)`` float batch per view.
        """
        outs = []
        for view in self.views:
            x = self._view_input(inputs)
            for op in view:
                x = op(x)
            outs.append(x)
        return outs

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        return (x - self.mean) / self.std if self._enable_normalize else x

    def forward(self, data: dict, training: bool = False) -> dict:
        """Augment (in training), normalise and set the labels, with
        autocast off on the preprocessor's device.

        MMEngine runs the data preprocessor inside the optim wrapper's AMP
        context; the ops are exact integer arithmetic in float32 / float64
        (matmuls of fixed-point weights, sums of shifted copies) that fp16
        or bf16 autocast would round. The model's forward still runs under
        AMP.

        Args:
            data (dict): ``inputs`` (``(N, C, H, W)`` uint8 tensor or a list
                of ``(C, H, W)`` ones) and ``data_samples``.
            training (bool): Whether to augment. Defaults to False.

        Returns:
            dict: ``inputs`` (a tensor, or a list of one tensor per view
            when there are several) and ``data_samples``.
        """
        with torch.autocast(device_type=self.device.type, enabled=False):
            return self._preprocess(data, training)

    def _pack(self, views: List[torch.Tensor], data_samples,
              training: bool) -> dict:
        """Normalise the views and set the labels: the first view through
        ``ClsDataPreprocessor`` (labels, ``batch_augments``), the others
        normalised alone.

        Args:
            views (list[torch.Tensor]): One float batch per view.
            data_samples (list | None): The batch's data samples.
            training (bool): Whether in training.

        Returns:
            dict: ``inputs`` (a tensor, or a list of one tensor per view
            when there are several) and ``data_samples``.
        """
        out = ClsDataPreprocessor.forward(
            self, dict(inputs=views[0], data_samples=data_samples), training)
        if len(views) > 1:
            out['inputs'] = [out['inputs']] + [
                self._normalize(v) for v in views[1:]
            ]
        return out

    def _preprocess(self, data: dict, training: bool) -> dict:
        """:meth:`forward` without the autocast guard."""
        inputs = self._stack(data['inputs'])
        views = self.augment(inputs) if training else [inputs]
        return self._pack(views, data.get('data_samples'), training)
