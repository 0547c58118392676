# SSD stage I, ResNet-32, CIFAR-100-LT ratio 10 (19,573 training
# images). K = ssd_queue_size(19573, 128) = 19456.
_base_ = ['./ssd-stage1_resnet32_1xb128-200e_cifar100-lt-r100.py']

model = dict(queue_size=19456)
train_dataloader = dict(dataset=dict(imbalance_ratio=10.0))
val_dataloader = dict(dataset=dict(imbalance_ratio=10.0))
test_dataloader = val_dataloader
