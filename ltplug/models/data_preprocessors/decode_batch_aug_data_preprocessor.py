# Copyright (c) ltplug contributors. All rights reserved.
import math
import warnings
from numbers import Number
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from ...datasets.transforms.load_image_from_file_checked import \
    CorruptImageError
from ..utils.batch_augments.base_batch_augment import check_size
from .batch_aug_data_preprocessor import BatchAugDataPreprocessor


def _check_range(name: str, rng) -> Tuple[float, float]:
    if len(rng) != 2 or not 0 < rng[0] <= rng[1]:
        raise ValueError(f'DecodeBatchAugDataPreprocessor: {name} must be '
                         f'(min, max) with 0 < min <= max, but got {rng!r}')
    return float(rng[0]), float(rng[1])


def draw_resized_crop_boxes(
        heights: torch.Tensor,
        widths: torch.Tensor,
        crop_ratio_range: Tuple[float, float] = (0.08, 1.0),
        aspect_ratio_range: Tuple[float, float] = (3. / 4., 4. / 3.),
        max_attempts: int = 10) -> torch.Tensor:
    """One RandomResizedCrop box per image, for images of different sizes.

    MMPretrain's ``RandomResizedCrop.rand_crop_params`` vectorised over the
    batch (as ``BatchRandomResizedCrop``, but each sample with its own
    ``(h, w)``): up to ``max_attempts`` draws of an area fraction (uniform
    in ``crop_ratio_range``) and a log-uniform aspect ratio, sides rounded;
    the first box that fits is placed at uniform integer offsets; when none
    fits, the centred box of the whole image clipped to the ratio range.
    Drawn with torch's global generator on the device of ``heights``.

    Args:
        heights (torch.Tensor): ``(N,)`` image heights (int64).
        widths (torch.Tensor): ``(N,)`` image widths (int64).
        crop_ratio_range (tuple[float, float]): Area fraction range.
            Defaults to (0.08, 1.0).
        aspect_ratio_range (tuple[float, float]): Width / height range.
            Defaults to (3 / 4, 4 / 3).
        max_attempts (int): Defaults to 10.

    Returns:
        torch.Tensor: ``(N, 4)`` int64 boxes ``(top, left, height, width)``.
    """
    dev, n, k = heights.device, heights.numel(), max_attempts
    h = heights.to(torch.float64)
    w = widths.to(torch.float64)
    lo, hi = crop_ratio_range
    area = (lo + (hi - lo) * torch.rand(
        n, k, device=dev, dtype=torch.float64)) * (h * w)[:, None]
    llo, lhi = math.log(aspect_ratio_range[0]), math.log(aspect_ratio_range[1])
    ratio = torch.exp(llo + (lhi - llo) * torch.rand(
        n, k, device=dev, dtype=torch.float64))
    tw = torch.round(torch.sqrt(area * ratio)).long()
    th = torch.round(torch.sqrt(area / ratio)).long()
    hl, wl = heights.long()[:, None], widths.long()[:, None]
    ok = (tw > 0) & (tw <= wl) & (th > 0) & (th <= hl)
    first = torch.where(ok, torch.arange(k, device=dev), k).amin(1)
    found = first < k
    pick = first.clamp(max=k - 1)[:, None]
    # fallback: the whole image, clipped to the aspect ratio range
    in_ratio = w / h
    rlo, rhi = min(aspect_ratio_range), max(aspect_ratio_range)
    fh = torch.where(in_ratio < rlo, torch.round(w / rlo), h).long()
    fw = torch.where(in_ratio > rhi, torch.round(h * rhi), w).long()
    th = torch.where(found, th.gather(1, pick)[:, 0], fh)
    tw = torch.where(found, tw.gather(1, pick)[:, 0], fw)
    u = torch.rand(n, 2, device=dev, dtype=torch.float64)
    hl, wl = hl[:, 0], wl[:, 0]
    top = torch.where(found, (u[:, 0] * (hl - th + 1)).long(),
                      (hl - th) // 2)
    left = torch.where(found, (u[:, 1] * (wl - tw + 1)).long(),
                       (wl - tw) // 2)
    return torch.stack([top, left, th, tw], 1)


def resize_edge_center_crop_box(h: int, w: int, edge: int,
                                crop: Tuple[int, int]) -> Tuple[int, ...]:
    """The resized size and crop of MMPretrain's ``ResizeEdge(edge,
    edge='short')`` + ``CenterCrop(crop)``.

    Args:
        h (int): Image height.
        w (int): Image width.
        edge (int): Target short side.
        crop (tuple[int, int]): ``(h, w)`` of the centre crop.

    Returns:
        tuple[int, ...]: ``(resized_h, resized_w, top, left, crop_h,
        crop_w)``.
    """
    if w < h:
        rw, rh = edge, int(edge * h / w)
    else:
        rh, rw = edge, int(edge * w / h)
    ch, cw = min(crop[0], rh), min(crop[1], rw)
    top = max(0, int(round((rh - ch) / 2.)))
    left = max(0, int(round((rw - cw) / 2.)))
    return rh, rw, top, left, ch, cw


def resize_antialias(img: torch.Tensor,
                     size: Tuple[int, int],
                     uint8_kernel: Optional[bool] = None) -> torch.Tensor:
    """Antialiased bilinear resize (``F.interpolate(..., mode='bilinear',
    antialias=True)``, Pillow's filter support) of a ``(C, h, w)`` uint8
    image to ``size``, as a float tensor of uint8 values.

    Args:
        img (torch.Tensor): ``(C, h, w)`` uint8 image.
        size (tuple[int, int]): Output ``(h, w)``.
        uint8_kernel (bool, optional): Interpolate the uint8 tensor
            (torch's CPU-only uint8 kernel, fixed-point as Pillow's, about
            5x faster than float there) instead of a float32 copy (any
            device) rounded to integers. Defaults to None: the uint8
            kernel on the CPU, float32 elsewhere.

    Returns:
        torch.Tensor: ``(C, *size)`` float32 with values in 0..255.
    """
    if uint8_kernel is None:
        uint8_kernel = img.device.type == 'cpu'
    x = img[None] if uint8_kernel else img[None].float()
    out = F.interpolate(x, size=size, mode='bilinear', align_corners=False,
                        antialias=True)[0]
    return out.float() if uint8_kernel else out.round_().clamp_(0, 255)


@MODELS.register_module()
class DecodeBatchAugDataPreprocessor(BatchAugDataPreprocessor):
    """Decode a batch of JPEG files on the model's device, crop and resize
    every sample, run batched augmentation views, then normalise: the
    device-side counterpart of an ImageNet-style per-sample pipeline
    (``LoadImageFromFile`` + ``RandomResizedCrop`` + ``RandomFlip`` +
    ``ColorJitter`` for training; ``ResizeEdge`` + ``CenterCrop`` outside
    training).

    The dataset yields the encoded files (``LoadJPEGBytes`` +
    ``PackInputs``: a list of 1-D uint8 tensors after ``pseudo_collate``).
    They are decoded to RGB with ``torchvision.io.decode_jpeg`` on the
    preprocessor's device (nvjpeg on CUDA, libjpeg-turbo on the CPU, where
    EXIF orientation is applied as OpenCV does; nvjpeg does not apply it).
    In training, each of ``views`` draws its own RandomResizedCrop box per
    sample (:func:`draw_resized_crop_boxes`), crops it and resizes it to
    ``crop_size`` with torch's antialiased bilinear interpolation
    (:func:`resize_antialias`: the uint8 kernel on the CPU, float32
    rounded to uint8 values on CUDA; each within 1 level of Pillow), then
    runs its ``Batch*`` ops on the ``(N, 3, h, w)`` batch. Outside
    training every image is resized to short side ``test_resize_edge``
    the same way and centre-cropped to ``test_crop_size``; with
    ``test_resize_edge=None`` it is resized to ``test_crop_size`` directly.
    One view gives a tensor, several a list (as
    ``BatchAugDataPreprocessor``). A file the decoder refuses raises
    :class:`CorruptImageError` naming it (``img_path`` of its data
    sample).

    Args:
        crop_size (int | Sequence[int]): Train output ``(h, w)`` or side.
            Defaults to 224.
        crop_ratio_range (tuple[float, float]): RandomResizedCrop area
            fraction range. Defaults to (0.08, 1.0).
        aspect_ratio_range (tuple[float, float]): RandomResizedCrop width /
            height range. Defaults to (3 / 4, 4 / 3).
        max_attempts (int): RandomResizedCrop draws before the fallback.
            Defaults to 10.
        test_resize_edge (int, optional): Short side of the resize outside
            training. Defaults to 256.
        test_crop_size (int | Sequence[int]): Centre crop outside
            training. Defaults to 224.
        views (list[list[dict]], optional): Per view, the ``Batch*`` op
            configs run after the crop. Defaults to None (one view, no
            op).
        mean (Sequence[Number], optional): Per-channel RGB mean (0..255).
            Defaults to None.
        std (Sequence[Number], optional): Per-channel RGB std. Defaults to
            None.
        to_rgb (bool): Must be False: decoded images are RGB already.
            Defaults to False.
        **kwargs: ``ClsDataPreprocessor``'s other arguments
            (``num_classes``, ``to_onehot``, ``batch_augments``).
    """

    def __init__(self,
                 crop_size: Union[int, Sequence[int]] = 224,
                 crop_ratio_range: Tuple[float, float] = (0.08, 1.0),
                 aspect_ratio_range: Tuple[float, float] = (3. / 4., 4. / 3.),
                 max_attempts: int = 10,
                 test_resize_edge: Optional[int] = 256,
                 test_crop_size: Union[int, Sequence[int]] = 224,
                 views: Optional[List[List[dict]]] = None,
                 mean: Optional[Sequence[Number]] = None,
                 std: Optional[Sequence[Number]] = None,
                 to_rgb: bool = False,
                 **kwargs) -> None:
        if to_rgb:
            raise ValueError('DecodeBatchAugDataPreprocessor: the decoded '
                             'images are RGB, so to_rgb must be False, but '
                             f'got to_rgb={to_rgb!r}')
        super().__init__(views=views, mean=mean, std=std, to_rgb=False,
                         **kwargs)
        name = self.__class__.__name__
        self.crop_size = check_size(name, 'crop_size', crop_size)
        self.test_crop_size = check_size(name, 'test_crop_size',
                                         test_crop_size)
        if test_resize_edge is not None and (
                not isinstance(test_resize_edge, int)
                or test_resize_edge <= 0):
            raise ValueError(f'{name}: test_resize_edge must be a positive '
                             f'int or None, but got {test_resize_edge!r}')
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(f'{name}: max_attempts must be an int >= 1, '
                             f'but got {max_attempts!r}')
        self.crop_ratio_range = _check_range('crop_ratio_range',
                                             crop_ratio_range)
        self.aspect_ratio_range = _check_range('aspect_ratio_range',
                                               aspect_ratio_range)
        self.max_attempts = max_attempts
        self.test_resize_edge = test_resize_edge

    # decoding --------------------------------------------------------
    @staticmethod
    def _encoded_list(inputs) -> List[torch.Tensor]:
        if isinstance(inputs, torch.Tensor) and inputs.dim() == 2:
            inputs = list(inputs.unbind(0))  # default_collate, equal sizes
        if not isinstance(inputs, (list, tuple)) or not inputs or not all(
                isinstance(t, torch.Tensor) and t.dim() == 1
                and t.dtype == torch.uint8 for t in inputs):
            desc = (f'a {type(inputs).__name__} of shape '
                    f'{tuple(inputs.shape)}' if isinstance(
                        inputs, torch.Tensor) else repr(type(inputs)))
            raise TypeError(
                'DecodeBatchAugDataPreprocessor: inputs must be a non-empty '
                'list of 1-D uint8 tensors of encoded JPEG bytes (pipeline '
                'LoadJPEGBytes + PackInputs, collate_fn pseudo_collate), '
                f'but got {desc}')
        return [t.cpu() for t in inputs]

    @staticmethod
    def _decode(encoded: Union[torch.Tensor, List[torch.Tensor]],
                device: torch.device):
        from torchvision.io import ImageReadMode, decode_jpeg

        # EXIF orientation: libjpeg-turbo path only (nvjpeg has none)
        kw = {} if device.type == 'cuda' else dict(
            apply_exif_orientation=True)
        with warnings.catch_warnings():  # torchvision 0.29: TorchCodec
            warnings.simplefilter('ignore', DeprecationWarning)
            return decode_jpeg(encoded, mode=ImageReadMode.RGB,
                               device=device, **kw)

    def decode(self, encoded: List[torch.Tensor],
               data_samples: Optional[list] = None) -> List[torch.Tensor]:
        """Decode ``encoded`` (CPU byte tensors) to ``(3, h, w)`` uint8 RGB
        tensors on the preprocessor's device.

        Args:
            encoded (list[torch.Tensor]): 1-D uint8 tensors.
            data_samples (list, optional): Their data samples, whose
                ``img_path`` names a file the decoder refuses. Defaults to
                None.

        Returns:
            list[torch.Tensor]: The decoded images.
        """
        device = self._device
        try:
            return self._decode(encoded, device)
        except RuntimeError as batch_error:
            # find the file: decode one by one
            for i, t in enumerate(encoded):
                try:
                    self._decode(t, device)
                except RuntimeError as e:
                    path = None
                    if data_samples is not None and i < len(data_samples):
                        path = data_samples[i].metainfo.get('img_path')
                    raise CorruptImageError(
                        f'cannot decode image file '
                        f'{path or f"(sample {i} of the batch)"} with '
                        f'torchvision.io.decode_jpeg on {device}: {e}') from e
            raise batch_error

    # geometry --------------------------------------------------------
    def _sizes(self, imgs: List[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        hw = torch.tensor([img.shape[-2:] for img in imgs],
                          dtype=torch.int64, device=self._device)
        return hw[:, 0], hw[:, 1]

    def random_resized_crop(self, imgs: List[torch.Tensor],
                            boxes: Optional[torch.Tensor] = None
                            ) -> torch.Tensor:
        """Crop one box per image and resize it to ``crop_size``.

        Args:
            imgs (list[torch.Tensor]): ``(3, h, w)`` uint8 images.
            boxes (torch.Tensor, optional): ``(N, 4)`` boxes ``(top, left,
                height, width)``. Defaults to None (a fresh draw).

        Returns:
            torch.Tensor: ``(N, 3, *crop_size)`` float of uint8 values.
        """
        if boxes is None:
            boxes = draw_resized_crop_boxes(*self._sizes(imgs),
                                            self.crop_ratio_range,
                                            self.aspect_ratio_range,
                                            self.max_attempts)
        out = []
        for img, (t, l, h, w) in zip(imgs, boxes.tolist()):
            out.append(
                resize_antialias(img[:, t:t + h, l:l + w], self.crop_size))
        return torch.stack(out)

    def _view_input(self, imgs: List[torch.Tensor]) -> torch.Tensor:
        """A view's starting batch: its own RandomResizedCrop of the
        decoded images."""
        return self.random_resized_crop(imgs)

    def resize_center_crop(self, imgs: List[torch.Tensor]) -> torch.Tensor:
        """The eval geometry: ``ResizeEdge(test_resize_edge)`` +
        ``CenterCrop(test_crop_size)`` (or a resize to ``test_crop_size``
        when ``test_resize_edge`` is None).

        Args:
            imgs (list[torch.Tensor]): ``(3, h, w)`` uint8 images.

        Returns:
            torch.Tensor: ``(N, 3, *test_crop_size)`` float of uint8
            values.
        """
        out = []
        for img in imgs:
            if self.test_resize_edge is None:
                out.append(resize_antialias(img, self.test_crop_size))
                continue
            rh, rw, t, l, ch, cw = resize_edge_center_crop_box(
                *img.shape[-2:], self.test_resize_edge, self.test_crop_size)
            if (ch, cw) != self.test_crop_size:
                raise ValueError(
                    f'DecodeBatchAugDataPreprocessor: an image resized to '
                    f'{(rh, rw)} is smaller than test_crop_size '
                    f'{self.test_crop_size}')
            out.append(
                resize_antialias(img, (rh, rw))[:, t:t + ch, l:l + cw])
        return torch.stack(out)

    def _preprocess(self, data: dict, training: bool) -> dict:
        """Decode, crop / resize, augment (in training), normalise (run by
        :meth:`forward`, with autocast off).

        Args:
            data (dict): ``inputs`` (a list of 1-D uint8 tensors of JPEG
                bytes) and ``data_samples``.
            training (bool): Whether to augment.

        Returns:
            dict: ``inputs`` (a tensor, or a list of one tensor per view
            when there are several) and ``data_samples``.
        """
        samples = data.get('data_samples')
        imgs = self.decode(self._encoded_list(data['inputs']), samples)
        views = (self.augment(imgs)
                 if training else [self.resize_center_crop(imgs)])
        return self._pack(views, samples, training)
