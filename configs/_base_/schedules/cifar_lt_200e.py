# The CIFAR-LT schedule of LDAM-DRW (Cao et al., NeurIPS 2019;
# kaidic/LDAM-DRW cifar_train.py), used by most ResNet-32 CIFAR-LT baselines:
# batch 128, SGD lr 0.1, momentum 0.9, weight decay 2e-4 on every parameter,
# 200 epochs, lr set once per epoch:
#   epochs 0-4     lr * (e + 1) / 5    (linear warm-up: 0.02, 0.04, ... 0.1)
#   epochs 5-159   lr
#   epochs 160-179 lr * 0.01
#   epochs 180-199 lr * 0.0001
# i.e. two x0.01 steps (the code's `epoch > 160: lr * 0.01`, `epoch > 180:
# lr * 0.0001` on the 1-based epoch), not x0.01 then x0.1.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=2e-4))
param_scheduler = [
    # factor 0.2, 0.4, 0.6, 0.8, 1.0 at epochs 0-4, as LDAM-DRW's
    # (e + 1) / 5 (MMEngine's LinearLR reaches end_factor at epoch end - 1)
    dict(type='LinearLR', start_factor=0.2, end_factor=1.0, by_epoch=True,
         begin=0, end=5),
    dict(type='MultiStepLR', by_epoch=True, milestones=[160, 180],
         gamma=0.01),
]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=10)
val_cfg = dict()
test_cfg = dict()
# lr 0.1 is for one GPU x 128 images
auto_scale_lr = dict(base_batch_size=128)
