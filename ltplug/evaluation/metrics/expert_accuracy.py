# Copyright (c) ltplug contributors. All rights reserved.
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS

EXPERT_LOGITS_KEY = 'expert_logits'


@METRICS.register_module()
class ExpertAccuracy(BaseMetric):
    """Top-1 accuracy of every expert of a multi-expert model, the best
    single expert and the ensemble of the mean logits.

    Reads ``expert_logits`` (``E x C`` raw logits, as set by
    :class:`ltplug.models.NCLMultiExpertClassifier`) and ``gt_label`` of
    each data sample. Only the per-expert argmax is kept, so collection
    stays small. Values are percentages.

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

    @staticmethod
    def _get(sample: Any, key: str) -> Any:
        if isinstance(sample, dict):
            return sample.get(key, None)
        return getattr(sample, key, None)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store ``[label, expert_0 argmax, ..., ensemble argmax]``.

        Args:
            data_batch (Any): The batch from the dataloader (unused).
            data_samples (Sequence[dict | DataSample]): The model outputs.
        """
        for sample in data_samples:
            logits = self._get(sample, EXPERT_LOGITS_KEY)
            gt = self._get(sample, 'gt_label')
            if logits is None or gt is None:
                raise KeyError(
                    f'ExpertAccuracy needs {EXPERT_LOGITS_KEY!r} and '
                    "'gt_label' in every data sample; use a multi-expert "
                    'model such as NCLMultiExpertClassifier')
            logits = torch.as_tensor(logits).detach().float().cpu()
            if logits.dim() != 2:
                raise ValueError(f'{EXPERT_LOGITS_KEY} must be (E, C), but '
                                 f'got shape {tuple(logits.shape)}')
            preds = logits.argmax(dim=1).tolist()
            preds.append(int(logits.mean(dim=0).argmax()))
            label = int(torch.as_tensor(gt).reshape(-1)[0])
            self.results.append(np.asarray([label] + preds, dtype=np.int64))

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
