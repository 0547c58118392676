# NCL + MoCo, 3 x ResNet-32, CIFAR-100-LT ratio 50 (same recipe as ratio
# 100; see ncl-moco_resnet32_1xb64-400e_cifar100-lt-r100.py).
_base_ = ['./ncl-moco_resnet32_1xb64-400e_cifar100-lt-r100.py']

train_dataloader = dict(dataset=dict(imbalance_ratio=50.))
val_dataloader = dict(dataset=dict(imbalance_ratio=50.))
test_dataloader = val_dataloader
