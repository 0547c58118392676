# NCL, 3 x ResNet-32, CIFAR-100-LT (imbalance ratio 100), no MoCo.
# HCM_N = 30 (official cifar100_im100 config).
_base_ = ['./_base_/ncl_resnet32_cifar_lt.py']
