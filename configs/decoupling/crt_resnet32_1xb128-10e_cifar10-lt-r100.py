# Classifier re-training (cRT, Kang et al., ICLR 2020) on CIFAR-10-LT r100:
# the backbone of the CE checkpoint (named in ./_base_/ce_checkpoints.py)
# is frozen and a freshly initialised linear classifier is trained for 10
# epochs with class-balanced (class-aware) sampling.
#
# Frozen backbone: frozen_stages=3 sets requires_grad=False on the stem and
# all 3 stages and keeps them in eval mode, so the BN running statistics do
# not move either: the backbone stays byte-identical to the CE one. The
# official code (classifier-balancing run_networks.py, `fix: true`) only sets
# requires_grad=False and trains in train mode, so its BN statistics drift
# with the class-balanced batches; for that behaviour set
# model.backbone.frozen_stages=-1 and
# optim_wrapper.paramwise_cfg.custom_keys={'backbone': dict(lr_mult=0.)}.
#
# The decoupling paper has no CIFAR recipe; this one keeps its ImageNet-LT
# cRT recipe (10 epochs, class-aware sampler with 4 images per class pick,
# SGD momentum 0.9, wd 5e-4, cosine to 0) with the CIFAR batch 128 / lr 0.1.
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
            prefix='backbone.')))
train_dataloader = dict(
    sampler=dict(_delete_=True, type='ClassAwareSampler', num_samples_cls=4))
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=10, T_max=10,
         eta_min=0.),
]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
