# Learnable weight scaling (LWS, Kang et al., ICLR 2020) on CIFAR-10-LT r100:
# backbone AND linear classifier (W, b) come from the CE checkpoint (named in
# ./_base_/ce_checkpoints.py) and stay frozen; only the per-class scales s
# of LWSHead (logits = s * (W f + b), s initialised to 1) are trained, with
# class-balanced sampling. The backbone is frozen as in cRT (eval mode, BN
# statistics fixed; see the cRT config for the official-code variant).
# The official ImageNet-LT LWS recipe trains 5 epochs (cls_lws.yaml); the
# paper has no CIFAR recipe, so this keeps cRT's 10 CIFAR epochs.
_base_ = [
    '../ce/ce_resnet32_1xb128-200e_cifar10-lt-r100.py',
    './_base_/ce_checkpoints.py',
]

ce_checkpoint = {{_base_.ce_ckpt_cifar10_lt_r100}}

model = dict(
    backbone=dict(
        frozen_stages=3,
        # replaces the CE config's Kaiming init (a list)
        init_cfg=dict(
            _delete_=True, type='Pretrained', checkpoint=ce_checkpoint,
            prefix='backbone.')),
    head=dict(
        _delete_=True,
        type='LWSHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
        # LWSHead keeps LinearClsHead's keys (head.fc.weight / .bias)
        init_cfg=dict(
            type='Pretrained', checkpoint=ce_checkpoint, prefix='head.',
            # the per-class scales are new (1 at the start)
            allow_missing=['scales'])))
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassAwareSampler', num_samples_cls=4))
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=10, T_max=10,
         eta_min=0.),
]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
