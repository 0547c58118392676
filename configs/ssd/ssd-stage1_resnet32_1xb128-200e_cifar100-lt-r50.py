# SSD stage I, ResNet-32, CIFAR-100-LT ratio 50 (12,608 training
# images). K = ssd_queue_size(12608, 128) = 12544.
_base_ = ['./ssd-stage1_resnet32_1xb128-200e_cifar100-lt-r100.py']

model = dict(queue_size=12544)
train_dataloader = dict(dataset=dict(imbalance_ratio=50.0))
val_dataloader = dict(dataset=dict(imbalance_ratio=50.0))
test_dataloader = val_dataloader
