# SSD stage IV (optional), ResNeXt-50 32x4d, ImageNet-LT: LWS on the
# stage-III student's encoder and HARD head (the official rerun of
# ssd_stage_ii.py with --last_stage_ckpt). Same recipe as stage II.
_base_ = ['./ssd-stage2-lws_resnext50-32x4d_4xb128-5e_imagenet-lt.py']

model = dict(
    # THE previous stage (--cfg-options model.init_checkpoint=PATH)
    init_checkpoint='work_dirs/ssd-stage3-distill_resnext50-32x4d_4xb64-'
    '135e_imagenet-lt/epoch_135.pth')
