# LWS on Places-LT (ResNet-152, ImageNet-pretrained stage one): backbone and linear classifier (W, b) from the CE
# checkpoint (named in ./_base_/ce_checkpoints.py), both frozen; only
# LWSHead's per-class scales are trained, 5 epochs; recipe of classifier-balancing config/Places_LT/cls_{crt,lws}.yaml:
# 256 images per step, SGD lr 0.1 (classifier), momentum 0.9, wd 5e-4,
# cosine to 0, class-aware sampler (4 per pick).
_base_ = [
    '../ce/ce_resnet152-in1k-pre_4xb64-30e_places-lt.py',
    './_base_/ce_checkpoints.py',
]

ce_checkpoint = {{_base_.ce_ckpt_places_lt_r152}}

model = dict(
    backbone=dict(
        frozen_stages=4,
        init_cfg=dict(
            type='Pretrained', checkpoint=ce_checkpoint,
            prefix='backbone.')),
    head=dict(
        _delete_=True,
        type='LWSHead',
        num_classes=365,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
        init_cfg=dict(
            type='Pretrained', checkpoint=ce_checkpoint, prefix='head.',
            # the per-class scales are new (1 at the start)
            allow_missing=['scales'])))
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassAwareSampler', num_samples_cls=4))
param_scheduler = dict(
    _delete_=True, type='CosineAnnealingLR', by_epoch=True, begin=0, end=5,
    T_max=5, eta_min=0.)
train_cfg = dict(by_epoch=True, max_epochs=5, val_interval=1)
