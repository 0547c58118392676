# NCL, 3 x ResNet-32, CIFAR-100-LT (imbalance ratio 50), no MoCo. The code
# ships only the ratio-100 config; the same recipe is used here.
_base_ = ['./_base_/ncl_resnet32_cifar_lt.py']

train_dataloader = dict(dataset=dict(imbalance_ratio=50.))
val_dataloader = dict(dataset=dict(imbalance_ratio=50.))
test_dataloader = val_dataloader
