# NCL, 3 x ResNet-32, CIFAR-10-LT (imbalance ratio 100), no MoCo.
# The code has no CIFAR-10 config. HCM_N = 3 is our inference: every
# official config keeps about 30% of the classes (30/100, 300/1000,
# 122/365, 2442/8142), and 30% of 10 is 3.
_base_ = ['./_base_/ncl_resnet32_cifar_lt.py']

model = dict(
    head=dict(num_classes=10),
    loss=dict(hcm_n=3),
    data_preprocessor=dict(num_classes=10))
train_dataloader = dict(
    dataset=dict(type='CIFAR10LT', data_root='data/cifar10'))
val_dataloader = dict(
    dataset=dict(type='CIFAR10LT', data_root='data/cifar10'))
test_dataloader = val_dataloader
