# SSD stage I, ResNet-32, CIFAR-10-LT ratio 100, as
# ssd-stage1_resnet32_1xb128-200e_cifar10-lt-r100.py, with both views drawn
# per sample on each batch on the device by BatchAugDataPreprocessor (the
# dataset yields the uint8 images unchanged; docs/batch_augment.md).
# Opt-in; the per-sample MultiView pipeline stays the reference.
_base_ = ['../ssd/ssd-stage1_resnet32_1xb128-200e_cifar10-lt-r100.py']

# query view: pad-4 crop + flip + ColorJitter(0.4, 0.4, 0.4)
query_view = [
    dict(type='BatchRandomCrop', crop_size=32, padding=4),
    dict(type='BatchRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='BatchColorJitter', brightness=0.4, contrast=0.4,
         saturation=0.4),
]
# key view: MoCo v2 (RRC (0.2, 1), ColorJitter p 0.8, grey 0.2, blur 0.5,
# flip)
key_view = [
    dict(type='BatchRandomResizedCrop', scale=32, crop_ratio_range=(0.2, 1.)),
    dict(type='BatchColorJitter', brightness=0.4, contrast=0.4,
         saturation=0.4, hue=0.1, prob=0.8),
    dict(type='BatchRandomGrayscale', prob=0.2,
         channel_weights=(0.2989, 0.587, 0.114)),
    dict(type='BatchGaussianBlur', magnitude_range=(0.1, 2.0), prob=0.5),
    dict(type='BatchRandomFlip', prob=0.5, direction='horizontal'),
]
model = dict(
    data_preprocessor=dict(
        _delete_=True,
        type='BatchAugDataPreprocessor',
        mean=[125.307, 122.961, 113.8575],
        std=[51.5865, 50.847, 51.255],
        to_rgb=False,
        views=[query_view, key_view]))
train_dataloader = dict(dataset=dict(pipeline=[dict(type='PackInputs')]))
