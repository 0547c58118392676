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
_base_ = [
    '../ce/ce_resnet152-in1k-pre_4xb64-30e_places-lt.py',
    '../_base_/datasets/gpudecode.py',
]

data_preprocessor = {{_base_.gpudecode_preprocessor}}
train_dataloader = {{_base_.gpudecode_loader}}
val_dataloader = {{_base_.gpudecode_loader}}
test_dataloader = {{_base_.gpudecode_loader}}
