# Cross-entropy ResNet-32 on CIFAR-10-LT, imbalance ratio 50 (the test
# split's class_counts follow the same ratio).
_base_ = ['./ce_resnet32_1xb128-200e_cifar10-lt-r100.py']

train_dataloader = dict(dataset=dict(imbalance_ratio=50.))
val_dataloader = dict(dataset=dict(imbalance_ratio=50.))
test_dataloader = val_dataloader
