# Cross-entropy (instance-balanced sampling) ResNet-32 on CIFAR-10-LT,
# imbalance ratio 100: the LDAM-DRW "ERM" baseline recipe (200 epochs,
# batch 128, SGD 0.1, warm-up 5 epochs, x0.01 at 160 and 180).
_base_ = [
    '../_base_/models/resnet32_cifar.py',
    '../_base_/datasets/cifar10_lt.py',
    '../_base_/schedules/cifar_lt_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=10))
train_dataloader = dict(batch_size=128, dataset=dict(imbalance_ratio=100.))
val_dataloader = dict(batch_size=100, dataset=dict(imbalance_ratio=100.))
test_dataloader = val_dataloader
