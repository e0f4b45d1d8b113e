"""Any picture of one digit → a 28×28 float32 image in [0, 1] that looks like MNIST, or None.

MNIST digits are white on black, cropped to their ink, scaled to fit 20×20 keeping the aspect ratio,
anti-aliased, and placed so their centre of mass sits at the centre of 28×28. A browser canvas, an
upload with a transparent background or a phone photo is none of that; this module closes the gap.
Pure NumPy/Pillow so it is fast and testable without TensorFlow.
"""

from __future__ import annotations

import io
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
from PIL import Image, ImageFilter, UnidentifiedImageError

# Larger inputs are refused before decoding. Phone cameras save up to 50 MP (8160×6144 = 50.1 M pixels
# on 50 MP sensors, 8000×6000 at 48 MP), which must pass; a decompression bomb (a few KB of PNG that
# decodes to gigabytes) must not. 52 M pixels decode to at most ~210 MB (RGBA) per image.
MAX_INPUT_PIXELS = 52_000_000
MAX_DECODES = 2  # images decoded at once: 12 parallel bombs under the limit still cost 2 decodes of memory
WIDE_GREY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")  # 16-bit, 32-bit and float greys
BIG_SIDE = 2048  # larger inputs are box-reduced first: bounded time and memory for 10k×10k
WORK_SIDE = 512  # per-pixel work happens at ≤ this size
BOX = 20  # MNIST scales the digit's box to fit 20×20 …
SIDE = 28  # … and centres its mass in 28×28
OVERSAMPLE = 4  # stroke width is adjusted at 4× the final resolution, then box-averaged down
# Mean stroke width of MNIST training digits, in pixels of the 20×20 box, measured as
# `patch_stroke_width` does (`bench/drawn_digits.py --stroke-stats`); inputs are brought near it.
MNIST_STROKE = 2.7
COM_TARGET = (14.0, 14.0)  # mean centre of mass of MNIST training digits, row and column

Image.MAX_IMAGE_PIXELS = MAX_INPUT_PIXELS  # Pillow's own backstop (it raises at twice this) for decodes elsewhere
_DECODES = threading.BoundedSemaphore(MAX_DECODES)


class ImageError(ValueError):
    """The input is not an image we can read; the message says what to send instead."""


@dataclass(frozen=True)
class Options:
    """Switches measured by `bench/drawn_digits.py`; the defaults are the winners."""

    normalise_stroke: bool = True
    min_ink_fraction: float = 0.0004  # less ink than this (of the image area) is blank
    min_box_fraction: float = 0.05  # a box smaller than this (of the longest side) is a dot
    max_fill: float = 0.80  # ink filling more of its box than this is a blob, not a digit


DEFAULT = Options()
INK_LEVELS = [255 if v > 50 else 0 for v in range(256)]  # what counts as ink when finding the digit's box


def load_image(source: str | os.PathLike | bytes | Image.Image | np.ndarray) -> Image.Image:
    """Open a path, raw bytes, a PIL image or an array; refuse non-images and oversized ones with a clear message."""
    if isinstance(source, Image.Image):
        _check_size("the image", source.width, source.height)
        return _eight_bit(source)
    if isinstance(source, np.ndarray):
        return _from_array(source)
    name = "the data" if isinstance(source, (bytes, bytearray)) else str(source)
    try:
        img = Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else Path(source))
        if img.width * img.height > MAX_INPUT_PIXELS:  # the header's size: nothing is decoded yet
            img.close()
            raise ImageError(_too_large(name, f"{img.width}×{img.height}"))
        with _DECODES:
            img.draft("L", (WORK_SIDE, WORK_SIDE))  # JPEG: decode at reduced size, cheap for huge photos
            img.load()
            return _eight_bit(img)
    except FileNotFoundError:
        raise ImageError(f"no such file: {name}") from None
    except Image.DecompressionBombError as exc:  # over twice Pillow's limit: it refuses before we see W×H
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        raise ImageError(_too_large(name, f"{int(pixels[1]):,}" if pixels else "too many")) from None
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ImageError(f"{name} is not a readable image; send a PNG, JPEG, BMP, GIF or WebP") from None


def _too_large(name: str, pixels: str) -> str:
    return f"{name} is too large ({pixels} pixels, at most {MAX_INPUT_PIXELS:,}); send a smaller image"


def _check_size(name: str, width: int, height: int) -> None:
    if width * height > MAX_INPUT_PIXELS:
        raise ImageError(_too_large(name, f"{width}×{height}"))


def _eight_bit(img: Image.Image) -> Image.Image:
    """16-bit, 32-bit and float greys → "L" with their real value range stretched to 0–255.

    Pillow's convert("L") clips instead: a 16-bit black-on-white digit (ink 0, paper 65535, edges in
    between) would come out almost all white, and read as blank.
    """
    if img.mode not in WIDE_GREY_MODES:
        return img
    wide = _bounded(img.convert("I") if img.mode.startswith("I;16") else img, BIG_SIDE)  # I;16 cannot be reduced
    return Image.fromarray(_to_uint8(np.asarray(wide, dtype=np.float64)))


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] are scaled by 255, values in 0–255 kept, any other range stretched from its min and max."""
    arr = np.nan_to_num(arr)
    low, high = float(arr.min()), float(arr.max())
    if low >= 0.0 and high <= 1.0:
        arr = arr * 255.0
    elif low < 0.0 or high > 255.0:
        arr = (arr - low) * (255.0 / (high - low))
    return np.clip(np.rint(arr), 0, 255).astype(np.uint8)


def _from_array(arr: np.ndarray) -> Image.Image:
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 2, 3, 4)) or arr.size == 0:
        raise ImageError(f"an image array must be H×W or H×W×(1–4 channels), got shape {arr.shape}")
    _check_size("the image array", arr.shape[1], arr.shape[0])
    if arr.dtype != np.uint8:
        arr = _to_uint8(np.asarray(arr, dtype=np.float64))
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    mode = {2: "L", 3: {2: "LA", 3: "RGB", 4: "RGBA"}.get(arr.shape[-1], "L")}[arr.ndim]
    return Image.fromarray(np.ascontiguousarray(arr), mode=mode)


def image_to_mnist(
    source: str | os.PathLike | bytes | Image.Image | np.ndarray, options: Options = DEFAULT
) -> np.ndarray | None:
    """The 28×28 image the model should see, or None when there is nothing to read."""
    return ink_to_mnist(ink_image(load_image(source)), options)


def ink_image(img: Image.Image) -> Image.Image:
    """Ink strength as an 8-bit image (255 = full ink), computed with Pillow's C code: fast on big canvases."""
    img = _bounded(img, BIG_SIDE)
    if img.mode in ("P", "PA") or (img.mode in ("L", "RGB") and "transparency" in img.info):
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA"):
        alpha = img.getchannel("A")
        if (
            cast(tuple[int, int], alpha.getextrema())[0] < 230
        ):  # really transparent somewhere: the alpha channel *is* the ink
            return _stretch(_reduced(alpha))
    gray = _reduced(img.convert("L"))
    arr = np.asarray(gray)
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
    background = int(np.median(border))
    hist = np.asarray(gray.histogram())
    low, mid, high = _levels(hist, (0.005, 0.5, 0.995))
    # ink is the minority: the tail that strays from the paper; with very little ink the tails tie,
    # and the border's own shade decides (a thin digit on a dark pad is light ink, not dark paper)
    light_paper = (mid - low) > (high - mid) or ((mid - low) == (high - mid) and background >= 128)
    if _flat(border) and _two_tone(hist, background):
        lut = [max(0, background - v) if light_paper else max(0, v - background) for v in range(256)]
        return _stretch(gray.point(lut))
    return _stretch(_photo_ink(gray, light_paper))


def _levels(hist: np.ndarray, fractions: tuple[float, ...]) -> np.ndarray:
    """Grey levels below which these fractions of the pixels lie: percentiles read off the histogram."""
    return np.searchsorted(np.cumsum(hist), np.asarray(fractions) * hist.sum())


def _bounded(img: Image.Image, side_limit: int) -> Image.Image:
    side = max(img.size)
    if side > side_limit:
        factor = side // side_limit
        if factor > 1:
            img = img.reduce(factor)  # integer box reduction in C: fast even for 10k×10k
        if max(img.size) > side_limit:
            scale = side_limit / max(img.size)
            img = img.resize(
                (max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.BOX
            )
    return img


def _reduced(channel: Image.Image) -> Image.Image:
    """Halve big canvases before per-pixel work: a 400 px digit still keeps 6 px pens visible."""
    factor = -(-max(channel.size) // WORK_SIDE)
    return channel.reduce(factor) if factor > 1 else channel


def _two_tone(hist: np.ndarray, background: int) -> bool:
    """Digital drawings are paper plus one ink (and anti-aliased edges); photos spread over all greys."""
    total = hist.sum()
    far = hist.copy()
    far[max(0, background - 25) : background + 26] = 0
    if far.sum() < 0.002 * total:
        return True
    ink_level = int(np.argmax(far))
    near_ink = far[max(0, ink_level - 40) : ink_level + 41].sum()
    return (total - far.sum() + near_ink) / total > 0.9


def _flat(border: np.ndarray) -> bool:
    return float(np.percentile(border, 95) - np.percentile(border, 5)) < 26


def _stretch(ink: Image.Image) -> Image.Image:
    """Faint pencil or pale colour becomes full-strength ink, as MNIST strokes reach 255."""
    hist = np.asarray(ink.histogram()[26:], dtype=np.int64)
    if hist.sum() == 0:
        return ink
    top = 26 + int(np.searchsorted(np.cumsum(hist), 0.9 * hist.sum()))
    top = max(top, 51)
    if top >= 250:
        return ink
    return ink.point([min(255, v * 255 // top) for v in range(256)])


def _photo_ink(gray: Image.Image, light_paper: bool) -> Image.Image:
    """Paper under uneven light: divide out a smooth background, threshold, drop specks and borders."""
    g = np.asarray(gray, dtype=np.float32) / 255.0
    if not light_paper:
        g = 1.0 - g
    h, w = g.shape
    small = Image.fromarray((g * 255).astype(np.uint8)).resize((max(1, w // 16), max(1, h // 16)), Image.Resampling.BOX)
    small = small.filter(ImageFilter.MaxFilter(3)).filter(ImageFilter.GaussianBlur(1))
    paper = np.asarray(small.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
    ink = np.clip((paper - g) / np.maximum(paper, 0.05), 0.0, 1.0)
    threshold = max(_otsu(ink), 0.12)
    ink = np.where(_keep_digit_components(ink > threshold), ink, 0.0)
    ink = np.clip((ink - 0.5 * threshold) / (1 - 0.5 * threshold), 0, 1)
    return Image.fromarray((ink * 255).astype(np.uint8))


def _otsu(values: np.ndarray) -> float:
    hist, edges = np.histogram(values, bins=64, range=(0.0, 1.0))
    p = hist.astype(np.float64) / max(hist.sum(), 1)
    omega = np.cumsum(p)
    mu = np.cumsum(p * edges[:-1])
    between = (mu[-1] * omega - mu) ** 2 / np.maximum(omega * (1 - omega), 1e-12)
    return float(edges[int(np.argmax(between))])


def _keep_digit_components(mask: np.ndarray) -> np.ndarray:
    """Label 8-connected blobs on a coarse grid; keep the large ones that do not touch the frame."""
    h, w = mask.shape
    step = max(1, max(h, w) // 128)
    coarse: np.ndarray = mask[: h - h % step or h, : w - w % step or w]
    coarse = np.asarray(coarse.reshape(coarse.shape[0] // step, step, coarse.shape[1] // step, step).any(axis=(1, 3)))
    labels = _label(coarse)
    if labels.max() == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    sizes[edge] = 0  # shadows, table edges and page borders touch the frame; a photographed digit does not
    if sizes.max() == 0:
        return np.zeros_like(mask)
    keep = sizes >= max(0.08 * sizes.max(), 2)
    keep[0] = False
    coarse_keep = keep[labels]
    full = np.repeat(np.repeat(coarse_keep, step, axis=0), step, axis=1)
    out = np.zeros_like(mask)
    out[: full.shape[0], : full.shape[1]] = full[:h, :w]
    return mask & out


def _label(mask: np.ndarray) -> np.ndarray:
    """Connected-component labels by repeated max-propagation (vectorised; fine for ≤128×128)."""
    labels = np.where(mask, np.arange(1, mask.size + 1).reshape(mask.shape), 0)
    while True:
        padded = np.pad(labels, 1)
        neighbours = np.max(
            [padded[dy : dy + mask.shape[0], dx : dx + mask.shape[1]] for dy in range(3) for dx in range(3)], axis=0
        )
        updated = np.where(mask, neighbours, 0)
        if np.array_equal(updated, labels):
            break
        labels = updated
    _, dense = np.unique(labels, return_inverse=True)
    return dense.reshape(mask.shape)


@dataclass(frozen=True)
class Steps:
    """The pictures one digit passes through on its way to the model, each the one the code itself makes (the inside
    view shows them): the whole ink picture, its box cropped out, the box fitted to 20×20 with the stroke evened
    out, and that centred by its mass in 28×28 (what `ink_to_mnist` returns)."""

    ink: Image.Image  # "L", 255 = ink
    box: Image.Image  # the ink's bounding box, at the ink picture's resolution
    fit: np.ndarray  # float32 in [0, 1], at most 20×20 (its longer side is 20)
    centred: np.ndarray  # float32 in [0, 1], 28×28


def ink_to_mnist(ink: Image.Image, options: Options = DEFAULT) -> np.ndarray | None:
    """Crop to the ink, fit 20×20, even out the stroke width, centre the mass in 28×28."""
    steps = ink_steps(ink, options)
    return None if steps is None else steps.centred


def ink_steps(ink: Image.Image, options: Options = DEFAULT) -> Steps | None:
    """`ink_to_mnist` keeping every picture it makes on the way, or None when there is nothing to read."""
    box = ink_box(ink, options)
    if box is None:
        return None
    patch = _fit(box)
    if options.normalise_stroke:
        patch = _normalise_stroke(patch)
    fit = _box_down(np.asarray(patch, dtype=np.float32) / 255.0, OVERSAMPLE)
    return Steps(ink, box, fit, _centre(fit))


def box_patch(ink: Image.Image, options: Options = DEFAULT) -> Image.Image | None:
    """The ink's bounding box scaled to fit (20·OVERSAMPLE)², or None for blank, dot or blob."""
    box = ink_box(ink, options)
    return None if box is None else _fit(box)


def ink_box(ink: Image.Image, options: Options = DEFAULT) -> Image.Image | None:
    """The ink's bounding box cropped out, or None for blank, dot or blob."""
    w, h = ink.size
    hist = ink.histogram()
    if sum(hist[51:]) < max(options.min_ink_fraction * h * w, 2):
        return None
    two_tone = hist[0] + hist[255] == h * w  # the stroke renderer's ink: thresholding it changes nothing
    box = (ink if two_tone else ink.point(INK_LEVELS)).getbbox()
    if box is None:
        return None
    left, top, right, bottom = box
    bh, bw = bottom - top, right - left
    if max(bh, bw) < options.min_box_fraction * max(h, w):
        return None
    crop = ink.crop(box)
    fill = sum(crop.histogram()[51:]) / (bh * bw)
    if fill > options.max_fill and min(bh, bw) > 0.3 * max(h, w):
        return None  # a filled blob, not strokes
    if fill > 0.5 and bh > 0.9 * h and bw > 0.9 * w:
        return None  # a scribble over the whole canvas
    return crop


def _fit(crop: Image.Image) -> Image.Image:
    """The box scaled so its longer side is 20·OVERSAMPLE, keeping its aspect ratio."""
    bw, bh = crop.size
    scale = BOX * OVERSAMPLE / max(bh, bw)
    size = (max(1, round(bw * scale)), max(1, round(bh * scale)))
    return crop.resize(size, Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR)


def stroke_width(solid: np.ndarray) -> float:
    """Mean stroke width in pixels of a boolean ink mask: ink area over half the boundary length."""
    area = int(solid.sum())
    if area == 0:
        return 0.0
    padded = zero_pad(solid, 1, 1, 1, 1)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    boundary = int((solid & ~interior).sum())
    return 2.0 * area / max(boundary, 1)


def _normalise_stroke(patch: Image.Image) -> Image.Image:
    """Thin pens get thicker and marker strokes thinner, towards MNIST's typical width."""
    peak = cast(tuple[int, int], patch.getextrema())[1]
    if 0 < peak < 255:  # hairlines fade when scaled down: restore full strength before measuring
        patch = patch.point([min(255, v * 255 // peak) for v in range(256)])
    solid = np.asarray(patch) > 127
    width = stroke_width(solid)
    target = MNIST_STROKE * OVERSAMPLE
    if width <= 0:
        return patch
    if width < 0.75 * target:
        return _disk_max(patch, min((target - width) / 2 + 0.5, 7.5))  # + 0.5: reach the rounded half-gap
    if width > 1.6 * target:
        size = int(round((width - target) / 2)) | 1
        thinner = _square_filter(patch, min(size, 9), np.minimum)
        if (np.asarray(thinner) > 127).sum() > 0.35 * solid.sum():
            return thinner
    return patch


def _disk_max(patch: Image.Image, radius: float) -> Image.Image:
    """Grey dilation by a disk of `radius` px: a round pen thickens every stroke direction alike.

    A square (Pillow's MaxFilter) widens diagonal strokes √2 times more than straight ones, which no
    pen does. Built from horizontal runs: the running row maxima of each half-width are reused for
    every row of the disk, so it costs ~4·radius array passes.
    """
    r = int(radius)
    arr = np.asarray(patch)
    h, w = arr.shape
    pad = zero_pad(arr, r, r, r, r)
    runs = [pad[:, r : r + w]]
    for k in range(1, r + 1):
        runs.append(np.maximum(runs[-1], np.maximum(pad[:, r - k : r - k + w], pad[:, r + k : r + k + w])))
    out = np.zeros_like(arr)
    for dy in range(-r, r + 1):
        half = int(np.sqrt(radius * radius - dy * dy))
        np.maximum(out, runs[half][r + dy : r + dy + h], out=out)
    return Image.fromarray(out)


def _square_filter(patch: Image.Image, size: int, pick: np.ufunc) -> Image.Image:
    """Pillow's MaxFilter/MinFilter(size) (edge pixels repeated), as a row pass then a column pass.

    Same output, but O(size) per pixel instead of O(size²): a 9×9 thinning of a marker stroke drops
    from ~1 ms to ~0.1 ms. (Pillow 12.3 also dies with SIGFPE on a size-1 rank filter; this cannot.)
    """
    r = size // 2
    arr = np.pad(np.asarray(patch), r, mode="edge")
    h, w = arr.shape[0] - 2 * r, arr.shape[1] - 2 * r
    rows = arr[:, 0:w].copy()
    for dx in range(1, size):
        pick(rows, arr[:, dx : dx + w], out=rows)
    out = rows[0:h].copy()
    for dy in range(1, size):
        pick(out, rows[dy : dy + h], out=out)
    return Image.fromarray(out)


def zero_pad(arr: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """`np.pad` with zeros for a 2-D array, without its generic machinery (a fifth of a drawing's reading)."""
    out = np.zeros((arr.shape[0] + top + bottom, arr.shape[1] + left + right), arr.dtype)
    out[top : top + arr.shape[0], left : left + arr.shape[1]] = arr
    return out


def _box_down(patch: np.ndarray, factor: int) -> np.ndarray:
    h, w = patch.shape
    ph, pw = -h % factor, -w % factor
    padded = zero_pad(patch, ph // 2, ph - ph // 2, pw // 2, pw - pw // 2)
    return padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor).mean(axis=(1, 3))


def _centre(small: np.ndarray) -> np.ndarray:
    total = float(small.sum())
    ys, xs = np.indices(small.shape)
    cy = float((small * ys).sum() / total)
    cx = float((small * xs).sum() / total)
    out = np.zeros((SIDE, SIDE), dtype=np.float32)
    top = int(round(COM_TARGET[0] - cy))
    left = int(round(COM_TARGET[1] - cx))
    src_y0, src_x0 = max(0, -top), max(0, -left)
    dst_y0, dst_x0 = max(0, top), max(0, left)
    hh = min(small.shape[0] - src_y0, SIDE - dst_y0)
    ww = min(small.shape[1] - src_x0, SIDE - dst_x0)
    out[dst_y0 : dst_y0 + hh, dst_x0 : dst_x0 + ww] = small[src_y0 : src_y0 + hh, src_x0 : src_x0 + ww]
    peak = float(out.max())
    return out / peak if peak > 0 else out
