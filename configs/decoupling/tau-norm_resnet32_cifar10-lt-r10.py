# tau-norm on CIFAR-10-LT r10: as the r100 config, on the r10 CE checkpoint.
_base_ = ['./tau-norm_resnet32_cifar10-lt-r100.py']

train_dataloader = dict(dataset=dict(imbalance_ratio=10.))
val_dataloader = dict(dataset=dict(imbalance_ratio=10.))
test_dataloader = val_dataloader
load_from = {{_base_.ce_ckpt_cifar10_lt_r10}}
