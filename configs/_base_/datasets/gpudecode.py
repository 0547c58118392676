# The decode-on-the-device data path of configs/batchaug/*-gpudecode.py, for
# recipes whose train augmentation is RandomResizedCrop 224 + flip +
# ColorJitter 0.4 (ImageNet-LT / Places-LT / iNaturalist CE): the dataset
# yields each file's encoded bytes (LoadJPEGBytes; pseudo_collate keeps the
# batch a list) and DecodeBatchAugDataPreprocessor decodes the batch with
# torchvision.io.decode_jpeg (nvjpeg on CUDA), draws a RandomResizedCrop 224
# box per sample (scale (0.08, 1), ratio (3/4, 4/3)), resizes it with
# antialiased bilinear interpolation, then HFlip + ColorJitter(0.4, 0.4,
# 0.4) on the batch; val / test decode, ResizeEdge 256 + CenterCrop 224 the
# same way (docs/batch_augment.md, "Decode on the device"). Decoded images
# are RGB: to_rgb is off, mean / std stay those of the reference, in RGB
# order. Its keys are new names: a config takes the reference config as its
# first base and this file as its second, then assigns them.
gpudecode_preprocessor = dict(
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
gpudecode_loader = dict(
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(pipeline=[dict(type='LoadJPEGBytes'),
                           dict(type='PackInputs')]))
