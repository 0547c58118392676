# iNaturalist 2018 has no official SSD code (only ImageNet-LT is released):
# this reuses the ImageNet-LT recipe unchanged except for the backbone,
# the classes and K.
# SSD stage IV (optional), ResNet-50, iNaturalist 2018: LWS on the
# stage-III student's encoder and HARD head (the official rerun of
# ssd_stage_ii.py with --last_stage_ckpt). Same recipe as stage II.
_base_ = ['./ssd-stage2-lws_resnet50_4xb128-5e_inat2018.py']

model = dict(
    # THE previous stage (--cfg-options model.init_checkpoint=PATH)
    init_checkpoint='work_dirs/ssd-stage3-distill_resnet50_4xb64-'
    '135e_inat2018/epoch_135.pth')
