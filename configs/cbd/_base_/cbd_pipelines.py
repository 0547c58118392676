# CBD input pipelines (official ``input_pipeline.py``; ALGORITHMS.md §3.5).
#
# Pixels are only scaled to [0, 1]: the data preprocessors of every CBD
# config use mean 0 and std 255 (no mean/std normalisation). Teachers and
# student must share this preprocessing, because the teachers see the
# student's preprocessed batch (CBDDistiller checks it at build time).

# ImageNet-LT / iNaturalist 2018 (images loaded as BGR, converted to RGB by
# the data preprocessor). TF's "distorted bounding box" crop
# (tf.image.stateless_sample_distorted_bounding_box, area 5%-100% of the
# image, TF's default aspect ratio 0.75..1.33, min_object_covered 0, whole
# image after 100 failed attempts), resized to 224 with tf.image.resize's
# bilinear filter without anti-aliasing, horizontal flip.
# ``DistortedBoundingBoxCrop`` draws the crop height uniformly (mean area
# about 0.34 on a 500 x 375 image); the switch
# dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.05, 1.),
# aspect_ratio_range=(3. / 4., 4. / 3.)) draws the area uniformly
# (mean about 0.42).
imagenet_crop_flip = [
    dict(type='LoadImageFromFileChecked'),
    dict(
        type='DistortedBoundingBoxCrop',
        scale=224,
        area_range=(0.05, 1.0),
        aspect_ratio_range=(0.75, 1.33),
        max_attempts=100,
        interpolation='bilinear',
        backend='cv2'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
# eval: short side to 256 (tf.image.resize, bilinear, antialias=False:
# OpenCV's bilinear, not Pillow's anti-aliased one), centre crop 224
imagenet_test_pipeline = [
    dict(type='LoadImageFromFileChecked'),
    dict(
        type='ResizeEdge',
        scale=256,
        edge='short',
        backend='cv2',
        interpolation='bilinear'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

# SimCLR(v2) colour distortion of the "data_aug" teachers, strength s = 1.0:
# colour jitter (brightness / contrast / saturation 0.8 s, hue 0.2 s) applied
# with probability 0.8, then random grayscale with probability 0.2.
# ``RandomGrayscale`` weights the channels in the order they are stored:
# BGR for loaded image files, RGB for the CIFAR arrays; MMCV's colour
# jitter assumes BGR, so on the RGB CIFAR arrays it runs inside
# ``ApplyInBGR``. (The official SimCLR v2 jitter is TF's: brightness
# multiplies by U(0.2, 1.8), contrast blends with each channel's own mean,
# saturation scales S in HSV, hue shifts H; MMCV's contrast / saturation
# blend with the grey image instead. Not reproduced, see README.md.)
simclr_colour_bgr = [
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.8,
                contrast=0.8,
                saturation=0.8,
                hue=0.2)
        ],
        prob=0.8),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
]
simclr_colour_rgb = [
    dict(
        type='ApplyInBGR',
        channel_order='rgb',
        transforms=[
            dict(
                type='RandomApply',
                transforms=[
                    dict(
                        type='ColorJitter',
                        brightness=0.8,
                        contrast=0.8,
                        saturation=0.8,
                        hue=0.2)
                ],
                prob=0.8)
        ]),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.2989, 0.587, 0.114)),
]

# CIFAR-LT (not in the official code): pad-4 random crop + flip, the usual
# CIFAR-LT augmentation; arrays are RGB already.
cifar_crop_flip = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
cifar_test_pipeline = [dict(type='PackInputs')]

# Complete train pipelines.
imagenet_train_pipeline = imagenet_crop_flip + [dict(type='PackInputs')]
imagenet_aug_train_pipeline = imagenet_crop_flip + simclr_colour_bgr + [
    dict(type='PackInputs')
]
cifar_train_pipeline = cifar_crop_flip + [dict(type='PackInputs')]
cifar_aug_train_pipeline = cifar_crop_flip + simclr_colour_rgb + [
    dict(type='PackInputs')
]
