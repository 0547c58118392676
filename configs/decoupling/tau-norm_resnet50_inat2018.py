# tau-norm on iNaturalist 2018 (ResNet-50): the CE checkpoint (named in
# ./_base_/ce_checkpoints.py) tested with TauNormClsHead; no training.
# tau = 1 by default; the paper selects tau on a validation split, sweep
# with --cfg-options model.head.tau=0.7 etc.
_base_ = [
    '../ce/ce_resnet50_4xb128-90e_inat2018.py',
    './_base_/ce_checkpoints.py',
]

model = dict(
    head=dict(
        _delete_=True,
        type='TauNormClsHead',
        num_classes=8142,
        in_channels=2048,
        tau=1.0,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
load_from = {{_base_.ce_ckpt_inat2018_r50}}
