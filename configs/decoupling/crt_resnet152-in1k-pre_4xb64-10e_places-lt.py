# cRT on Places-LT (ResNet-152, ImageNet-pretrained stage one): the CE backbone (checkpoint named in
# ./_base_/ce_checkpoints.py) is frozen (eval mode, BN statistics fixed; see
# the CIFAR cRT config for the official-code variant) and a freshly
# initialised linear classifier is trained for 10 epochs; recipe of classifier-balancing config/Places_LT/cls_{crt,lws}.yaml:
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
            prefix='backbone.')))
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassAwareSampler', num_samples_cls=4))
param_scheduler = dict(
    _delete_=True, type='CosineAnnealingLR', by_epoch=True, begin=0, end=10,
    T_max=10, eta_min=0.)
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
