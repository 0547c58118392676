# CE ResNet-152 (ImageNet-1k pre-trained) on Places-LT, as
# ../ce/ce_resnet152-in1k-pre_4xb64-30e_places-lt.py, with JPEG decoding and
# the train augmentation on the device, the same data path as
# ce_resnet50_4xb128-90e_imagenet-lt-gpudecode.py: the dataset yields each
# file's encoded bytes (LoadJPEGBytes; pseudo_collate keeps the batch a list)
# and DecodeBatchAugDataPreprocessor decodes the batch with
# torchvision.io.decode_jpeg (nvjpeg on CUDA), draws a RandomResizedCrop 224
# box per sample (scale (0.08, 1), ratio (3/4, 4/3)), resizes it with
# antialiased bilinear interpolation, then HFlip + ColorJitter(0.4, 0.4, 0.4)
# on the batch; val / test decode, ResizeEdge 256 + CenterCrop 224 the same
# way (docs/batch_augment.md, "Decode on the device"). Opt-in; the
# per-sample config stays the reference. Decoded images are RGB: to_rgb is
# off, mean / std stay in RGB order. Places-LT's lists name .jpg files
# (JPEG): every image must be a JPEG, LoadJPEGBytes refuses other formats.
_base_ = ['../ce/ce_resnet152-in1k-pre_4xb64-30e_places-lt.py']

data_preprocessor = dict(
    type='DecodeBatchAugDataPreprocessor',
    to_rgb=False,
    crop_size=224,
    crop_ratio_range=(0.08, 1.0),
    aspect_ratio_range=(3. / 4., 4. / 3.),
    test_resize_edge=256,
    test_crop_size=224,
    views=[[
        dict(type='BatchRandomFlip', prob=0.5, direction='horizontal'),
        dict(type='BatchColorJitter', brightness=0.4, contrast=0.4,
             saturation=0.4),
    ]])
encoded_pipeline = [dict(type='LoadJPEGBytes'), dict(type='PackInputs')]
train_dataloader = dict(
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(pipeline=encoded_pipeline))
val_dataloader = dict(
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(pipeline=encoded_pipeline))
test_dataloader = dict(
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(pipeline=encoded_pipeline))
