"""Canvas, upload and photo inputs → MNIST-style 28×28, and the refusals."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import digit_on_canvas
from PIL import Image, ImageDraw, ImageFile, ImageFilter

from mnist_core.imaging.deskew import deskew
from mnist_core.imaging.pictures import (
    MAX_DECODES,
    MAX_INPUT_PIXELS,
    ImageError,
    box_patch,
    image_to_mnist,
    load_image,
    stroke_width,
    zero_pad,
)


def _seven(size: int = 500, width: int = 20, offset: tuple[int, int] = (0, 0), mode: str = "RGB") -> Image.Image:
    """A plain 7 drawn with a round pen, as a sketch pad would hold it."""
    bg = (255, 255, 255, 0) if mode == "RGBA" else "white"
    img = Image.new(mode, (size, size), bg)
    pen = ImageDraw.Draw(img)
    dx, dy = offset
    s = size / 500
    pts = [(150 * s + dx, 120 * s + dy), (350 * s + dx, 120 * s + dy), (230 * s + dx, 400 * s + dy)]
    ink = (0, 0, 0, 255) if mode == "RGBA" else "black"
    pen.line(pts, fill=ink, width=width, joint="curve")
    return img


def _com(img: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(img.shape)
    return float((img * ys).sum() / img.sum()), float((img * xs).sum() / img.sum())


def test_output_is_mnist_shaped_and_centred():
    out = image_to_mnist(_seven())
    assert out is not None and out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() == pytest.approx(1.0)
    cy, cx = _com(out)
    assert abs(cy - 14) <= 0.6 and abs(cx - 14) <= 0.6
    rows = np.flatnonzero(out.max(axis=1) > 0.1)
    assert 18 <= rows[-1] - rows[0] + 1 <= 22  # longest side fits 20×20


def test_backgrounds_agree():
    """Dark on white, ink on transparent, light on dark and coloured ink give the same 28×28."""
    white = image_to_mnist(_seven())
    transparent = image_to_mnist(_seven(mode="RGBA"))
    dark = image_to_mnist(Image.eval(_seven().convert("L"), lambda v: 255 - v))
    red = np.array(_seven())
    red[(red == 0).all(axis=2)] = (200, 30, 30)
    coloured = image_to_mnist(red)
    for other in (transparent, dark, coloured):
        assert other is not None and np.abs(other - white).mean() < 0.02


def test_transparent_png_bytes_are_not_all_black():
    buf = io.BytesIO()
    _seven(mode="RGBA").save(buf, format="PNG")
    out = image_to_mnist(buf.getvalue())
    assert out is not None and 0.05 < (out > 0.5).mean() < 0.4


def test_palette_and_la_modes():
    base = _seven()
    for img in (base.convert("P"), base.convert("LA"), np.asarray(base.convert("L"))[:, :, None]):
        out = image_to_mnist(img)
        assert out is not None and np.abs(out - image_to_mnist(base)).mean() < 0.02


def test_off_centre_and_corner_drawings_are_centred():
    centred = image_to_mnist(_seven())
    for offset in ((-140, -110), (140, 90)):
        out = image_to_mnist(_seven(offset=offset))
        assert out is not None and np.abs(out - centred).mean() < 0.03


def test_tiny_and_huge_images():
    small = image_to_mnist(_seven().resize((40, 40), Image.Resampling.LANCZOS))
    assert small is not None and abs(_com(small)[0] - 14) < 1
    start = time.perf_counter()
    huge = image_to_mnist(_seven(size=4000, width=160))
    assert huge is not None and time.perf_counter() - start < 2.0


def test_seven_thousand_square_is_bounded():
    img = Image.new("L", (7000, 7000), 255)  # 49 M pixels: under the limit, like a 48 MP phone photo
    ImageDraw.Draw(img).line([(2100, 1400), (4900, 1400), (3150, 5600)], fill=0, width=280)
    start = time.perf_counter()
    out = image_to_mnist(img)
    assert out is not None and time.perf_counter() - start < 3.0


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims width×height 8-bit grey pixels and carries almost no data: a bomb before it goes off."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b"")
    )


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns before we refuse
def test_oversized_images_are_refused_from_the_header_without_decoding(tmp_path, monkeypatch):
    with pytest.raises(ImageError, match="not a readable image"):  # a 50 MP phone photo's size passes
        load_image(_png_header(8160, 6144))

    def no_decoding(self):
        raise AssertionError("an oversized image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    limit = f"at most {MAX_INPUT_PIXELS:,}); send a smaller image"
    with pytest.raises(ImageError) as info:
        load_image(_png_header(8000, 8000))  # 64 M pixels: Pillow alone would only warn
    assert str(info.value) == f"the data is too large (8000×8000 pixels, {limit}"
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png_header(20000, 20000))  # over twice the limit: Pillow itself refuses it at open
    with pytest.raises(ImageError) as info:
        load_image(huge)
    assert str(info.value) == f"{huge} is too large (400,000,000 pixels, {limit}"
    with pytest.raises(ImageError) as info:
        load_image(np.broadcast_to(np.uint8(255), (8000, 8000)))  # no memory needed to ask
    assert str(info.value) == f"the image array is too large (8000×8000 pixels, {limit}"


def test_at_most_two_images_decode_at_once(monkeypatch):
    buf = io.BytesIO()
    _seven(size=200).save(buf, format="PNG")
    data = buf.getvalue()
    real_load, lock = ImageFile.ImageFile.load, threading.Lock()
    running, peak = [0], [0]

    def slow_load(self):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        try:
            return real_load(self)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(ImageFile.ImageFile, "load", slow_load)
    with ThreadPoolExecutor(12) as pool:
        images = list(pool.map(load_image, [data] * 12))
    assert peak[0] == MAX_DECODES == 2 and all(img.size == (200, 200) for img in images)


def test_sixteen_bit_and_float_greys_read_like_eight_bit(mnist):
    """Pillow's convert("L") clips 16-bit values at 255: black-on-white 16-bit digits came out blank."""
    _, (x_test, _) = mnist
    for digit in x_test[:10]:
        canvas = digit_on_canvas(digit, size=300, box=(50, 70, 150))  # black on white, 8-bit
        expected = image_to_mnist(canvas)
        wide = canvas.astype(np.uint16) * 257
        buf = io.BytesIO()
        Image.fromarray(wide).save(buf, format="PNG")  # a 16-bit greyscale PNG
        assert Image.open(io.BytesIO(buf.getvalue())).mode == "I;16"
        sources = [
            buf.getvalue(),
            Image.fromarray(wide.astype(">u2")),
            wide,  # I;16, I;16B, uint16 array
            Image.fromarray(canvas.astype(np.float32) * 1000.0),
        ]  # mode "F", any range
        for source in sources:
            out = image_to_mnist(source)
            assert out is not None and np.abs(out - expected).max() < 0.02


def test_thin_one_pixel_stroke_is_thickened():
    out = image_to_mnist(_seven(width=1))
    assert out is not None
    width = stroke_width(np.kron(out, np.ones((4, 4))) > 0.5) / 4
    assert 1.5 < width < 4.5  # MNIST strokes are ~2.7 px wide


def test_marker_stroke_is_thinned():
    fat = image_to_mnist(_seven(width=90))
    assert fat is not None and (fat > 0.5).mean() < 0.35


def test_blank_and_near_blank_are_nothing_to_read():
    assert image_to_mnist(Image.new("RGB", (500, 500), "white")) is None
    assert image_to_mnist(Image.new("RGBA", (500, 500), (0, 0, 0, 0))) is None
    dot = Image.new("RGB", (500, 500), "white")
    ImageDraw.Draw(dot).ellipse([240, 240, 252, 252], fill="black")
    assert image_to_mnist(dot) is None


def test_scribble_filling_the_canvas_is_nothing_to_read():
    blob = Image.new("RGB", (500, 500), "white")
    ImageDraw.Draw(blob).rectangle([20, 20, 480, 480], fill="black")
    assert image_to_mnist(blob) is None


def test_noise_is_nothing_to_read():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (400, 400), dtype=np.uint8)
    assert image_to_mnist(noise) is None


def test_non_image_bytes_and_missing_file(tmp_path):
    with pytest.raises(ImageError, match="not a readable image"):
        image_to_mnist(b"this is not a PNG")
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    with pytest.raises(ImageError, match=r"notes\.png"):
        load_image(bad)
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="shape"):
        image_to_mnist(np.zeros((3, 3, 7)))


def test_real_mnist_digit_on_big_canvas_round_trips(mnist):
    _, (x_test, _) = mnist
    diffs = []
    for digit in x_test[:100]:
        out = image_to_mnist(digit_on_canvas(digit))
        assert out is not None
        diffs.append(np.abs(out - digit / 255.0).mean())
    assert np.mean(diffs) < 0.05


def test_photo_of_paper_with_uneven_light_and_specks():
    h = w = 480
    ys, xs = np.indices((h, w))
    paper = 150 + 80 * xs / w + 10 * np.sin(ys / 40.0)  # grey paper, light from one side
    ink = np.asarray(_seven(size=480, width=14).convert("L"), dtype=np.float64) / 255.0
    photo = paper * (0.35 + 0.65 * ink)
    rng = np.random.default_rng(1)
    photo += rng.normal(0, 4, photo.shape)
    for y, x in rng.integers(10, 470, (12, 2)):
        photo[y : y + 3, x : x + 3] -= 90  # dust specks
    photo[:, :12] = 30  # dark table at the edge of the frame
    img = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1))
    out = image_to_mnist(img)
    reference = image_to_mnist(_seven(size=480, width=14))
    assert out is not None and np.abs(out - reference).mean() < 0.06


def test_deskew_makes_a_slanted_stroke_upright_and_keeps_its_mass():
    slanted = Image.new("L", (28, 28), 0)
    ImageDraw.Draw(slanted).line([(10, 24), (18, 4)], fill=255, width=3)  # a 1 leaning right
    img = np.asarray(slanted, np.float32) / 255.0
    upright = deskew(img)
    xs = np.nonzero(upright > 0.5)[1]
    assert np.ptp(xs) <= 4 < np.ptp(np.nonzero(img > 0.5)[1])  # the lean is gone
    assert abs(upright.sum() - img.sum()) < 0.05 * img.sum()
    assert deskew(np.zeros((28, 28))).max() == 0.0
    batch = deskew(np.stack([img, np.zeros((28, 28), np.float32)]))
    np.testing.assert_allclose(batch[0], upright, atol=1e-6)


def test_square_filter_matches_pillows_rank_filters():
    from PIL import ImageFilter

    from mnist_core.imaging.pictures import _square_filter

    rng = np.random.default_rng(0)
    for h, w in [(1, 1), (2, 37), (80, 3), (64, 80), (13, 13)]:
        patch = Image.fromarray((rng.random((h, w)) * 255).astype(np.uint8))
        for size in (3, 5, 9, 15):
            assert np.array_equal(
                np.asarray(_square_filter(patch, size, np.minimum)),
                np.asarray(patch.filter(ImageFilter.MinFilter(size))),
            )
            assert np.array_equal(
                np.asarray(_square_filter(patch, size, np.maximum)),
                np.asarray(patch.filter(ImageFilter.MaxFilter(size))),
            )


def test_disk_dilation_matches_a_brute_force_disk():
    from mnist_core.imaging.pictures import _disk_max

    rng = np.random.default_rng(1)
    for h, w in [(1, 1), (5, 40), (80, 61)]:
        arr = (rng.random((h, w)) * 255).astype(np.uint8)
        for radius in (0.4, 1.0, 2.5, 3.7, 7.0):
            r = int(radius)
            pad = np.pad(arr, r)
            expected = arr.copy()
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    if dy * dy + dx * dx <= radius * radius:
                        np.maximum(expected, pad[r + dy : r + dy + h, r + dx : r + dx + w], out=expected)
            assert np.array_equal(np.asarray(_disk_max(Image.fromarray(arr), radius)), expected), (h, w, radius)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, bool])
def test_zero_pad_is_np_pad_with_zeros(dtype: type) -> None:
    arr = (np.random.default_rng(0).random((7, 5)) * 200).astype(dtype)
    for sides in [(0, 0, 0, 0), (1, 1, 1, 1), (2, 1, 0, 3)]:
        top, bottom, left, right = sides
        want = np.pad(arr, ((top, bottom), (left, right)))
        got = zero_pad(arr, *sides)
        assert got.dtype == want.dtype and np.array_equal(got, want)


def test_two_tone_ink_is_boxed_as_thresholded_ink() -> None:
    """The renderer's 0/255 ink skips the threshold; a grey image of the same strokes takes it, same box."""
    ink = _seven().convert("L").point(lambda v: 255 - v)
    two_tone = ink.point(lambda v: 255 if v > 50 else 0)
    patch, thresholded = box_patch(two_tone), box_patch(two_tone.point(lambda v: 255 if v else 1))
    assert patch is not None and thresholded is not None
    assert patch.size == thresholded.size
