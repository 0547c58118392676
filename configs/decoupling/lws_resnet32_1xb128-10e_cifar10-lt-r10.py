# LWS on CIFAR-10-LT r10: as the r100 config, from the r10 CE checkpoint.
_base_ = ['./lws_resnet32_1xb128-10e_cifar10-lt-r100.py']

ce_checkpoint = {{_base_.ce_ckpt_cifar10_lt_r10}}

model = dict(
    backbone=dict(init_cfg=dict(checkpoint=ce_checkpoint)),
    head=dict(init_cfg=dict(checkpoint=ce_checkpoint)))
train_dataloader = dict(dataset=dict(imbalance_ratio=10.))
val_dataloader = dict(dataset=dict(imbalance_ratio=10.))
test_dataloader = val_dataloader
