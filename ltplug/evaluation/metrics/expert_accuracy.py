# Copyright (c) ltplug contributors. All rights reserved.
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS

from ltplug.datasets.utils import CLASS_COUNTS_KEY
from ltplug.evaluation.functional import first_elements, read_batch
# defined once, with the models that set it; importable from here too
from ltplug.models.utils.data_sample import EXPERT_LOGITS_KEY

__all__ = ['ExpertAccuracy', 'EXPERT_LOGITS_KEY']


@METRICS.register_module()
class ExpertAccuracy(BaseMetric):
    """Top-1 accuracy of every expert of a multi-expert model, the best
    single expert and the ensemble of the mean logits.

    Reads ``expert_logits`` (``E x C`` raw logits, as set by
    :class:`ltplug.models.NCLMultiExpertClassifier`) and ``gt_label`` of
    each data sample. The argmaxes run on the logits' device, once per
    batch over its stacked ``(B, E, C)`` logits; only the ``(B, E + 2)``
    int64 ``[label, expert argmaxes, ensemble argmax]`` come to the host, in
    one copy per batch, so neither the logits nor per-sample host reads cross
    to the host and collection stays small. Values are percentages.

    Each expert must give one logit per class of the dataset
    (``dataset_meta['classes']``, else ``dataset_meta['class_counts']``,
    when known): logits for another number of classes raise ``ValueError``
    naming both numbers.

    Result keys (with the default prefix ``'expert'``): ``expert/top1_e{i}``
    for each expert ``i``, ``expert/best_single_top1``,
    ``expert/best_single_idx`` and ``expert/ensemble_top1`` (argmax of the
    mean of the experts' logits, i.e. the model's prediction).

    Args:
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to 'cpu'.
        prefix (str, optional): Key prefix. Defaults to None (``'expert'``).
    """

    default_prefix: Optional[str] = 'expert'

    def __init__(self,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store ``[label, expert_0 argmax, ..., ensemble argmax]``.

        Args:
            data_batch (Any): The batch from the dataloader (unused).
            data_samples (Sequence[dict | DataSample]): The model outputs.
        """
        if len(data_samples) == 0:
            return
        labels, batch = read_batch(data_samples, EXPERT_LOGITS_KEY,
                                   'ExpertAccuracy')
        if batch is None:
            raise KeyError(
                f'ExpertAccuracy needs {EXPERT_LOGITS_KEY!r} and '
                "'gt_label' in every data sample; use a multi-expert "
                'model such as NCLMultiExpertClassifier')
        batch = batch.float()  # (B, E, C), on the device
        if batch.dim() != 3:
            raise ValueError(f'{EXPERT_LOGITS_KEY} must be (E, C), but '
                             f'got shape {tuple(batch.shape[1:])}')
        self._check_num_classes(batch.size(2))
        preds = batch.argmax(dim=2)  # (B, E)
        ensemble = batch.mean(dim=1).argmax(dim=1, keepdim=True)
        labels_t = first_elements(labels, device=batch.device)
        block = torch.cat([labels_t[:, None], preds, ensemble], dim=1)
        self.results.extend(block.cpu().numpy())

    def _check_num_classes(self, num_logits: int) -> None:
        """Raise unless every expert gives one logit per dataset class."""
        meta = self.dataset_meta or {}
        for key in ('classes', CLASS_COUNTS_KEY):
            if meta.get(key) is not None:
                num_classes = len(meta[key])
                if num_logits != num_classes:
                    raise ValueError(
                        f'ExpertAccuracy: each expert gives {num_logits} '
                        f'logits ({EXPERT_LOGITS_KEY}), but the dataset has '
                        f"{num_classes} classes (metainfo['{key}']): check "
                        'model.head.num_classes against the dataset')
                return

    def compute_metrics(self, results: List[np.ndarray]) -> Dict[str, float]:
        """Per-expert, best single and ensemble top-1 (percent)."""
        widths = {r.size for r in results}
        if len(widths) != 1:
            raise ValueError('all samples must come from the same number of '
                             f'experts, but got widths {sorted(widths)}')
        table = np.stack(results)
        correct = table[:, 1:] == table[:, :1]
        acc = correct.mean(axis=0) * 100.
        per_expert = acc[:-1]
        metrics = {
            f'top1_e{i}': float(a)
            for i, a in enumerate(per_expert)
        }
        best = int(np.argmax(per_expert))
        metrics['best_single_top1'] = float(per_expert[best])
        metrics['best_single_idx'] = best
        metrics['ensemble_top1'] = float(acc[-1])
        return metrics
