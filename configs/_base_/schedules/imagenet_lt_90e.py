# The decoupling stage-one schedule for ImageNet-LT (Kang et al., ICLR 2020;
# classifier-balancing config/ImageNet_LT/feat_uniform.yaml): batch 512,
# SGD lr 0.2, momentum 0.9, weight decay 5e-4, 90 epochs, cosine to 0,
# stepped once per epoch. (The official loop calls scheduler.step() at the
# start of every epoch, so its first epoch already runs at the second
# value of the cosine; this schedule starts at lr 0.2.)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='CosineAnnealingLR', by_epoch=True, begin=0, end=90, T_max=90,
    eta_min=0.)
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=5)
val_cfg = dict()
test_cfg = dict()
# lr 0.2 is for 512 images per step
auto_scale_lr = dict(base_batch_size=512)
