"""Zones and masks for inpainting, measured on plain arrays (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from darkroom.develop import masks
from darkroom.models.detectors import DETECTORS, Detection, detect, detector, face_ellipse
from darkroom.develop.recipe import BoxZone, DetectZone, EllipseZone, MaskZone
from darkroom.errors import ImageError, InvalidParameter


def gradient(width=64, height=48) -> Image.Image:
    x = np.linspace(0, 255, width)[None, :, None]
    y = np.linspace(0, 255, height)[:, None, None]
    return Image.fromarray(np.concatenate([np.broadcast_to(x, (height, width, 1)),
                                           np.broadcast_to(y, (height, width, 1)),
                                           np.full((height, width, 1), 128.0)], axis=2).astype(np.uint8))


def synthetic_face(size=160, cx=80, cy=84) -> Image.Image:
    """A drawn frontal face that OpenCV's Haar cascade finds (eyes, brows, nose, mouth, hair)."""
    img = Image.new("RGB", (size, size), (70, 90, 110))
    d = ImageDraw.Draw(img)
    d.ellipse((cx - 34, cy - 54, cx + 34, cy - 11), fill=(40, 30, 25))
    d.ellipse((cx - 28, cy - 36, cx + 28, cy + 36), fill=(225, 185, 160))
    for side in (-1, 1):
        x, y = cx + side * 13, cy - 10
        d.rectangle((x - 9, y - 9, x + 9, y - 6), fill=(60, 40, 30))
        d.ellipse((x - 7, y - 3, x + 7, y + 4), fill=(250, 250, 250))
        d.ellipse((x - 3.5, y - 3, x + 3.5, y + 4), fill=(30, 20, 20))
    d.polygon([(cx, cy - 6), (cx - 5, cy + 10), (cx + 5, cy + 10)], fill=(200, 150, 130))
    d.ellipse((cx - 12, cy + 17, cx + 12, cy + 24), fill=(150, 60, 60))
    return img.filter(ImageFilter.GaussianBlur(1.2))


def no_inputs(ref):
    raise AssertionError("no input expected")


def test_box_and_ellipse_zones_cover_exactly_their_shape():
    image = gradient()
    box = masks.zone_mask(BoxZone(x=10, y=5, width=20, height=10), image, no_inputs)
    assert box.shape == (48, 64) and box.dtype == np.uint8
    assert (box[5:15, 10:30] == 255).all() and box.sum() == 255 * 200
    ellipse = masks.zone_mask(EllipseZone(x=10, y=5, width=20, height=10), image, no_inputs)
    assert ellipse[10, 20] == 255 and ellipse[5, 10] == 0  # centre in, corner out
    assert 0.70 < (ellipse > 0).sum() / 200 < 0.85  # pi/4 of the box, on a pixel grid


def test_box_clipped_to_the_picture_and_outside_is_an_error():
    clipped = masks.zone_mask(BoxZone(x=60, y=40, width=50, height=50), gradient(), no_inputs)
    assert (clipped > 0).sum() == 4 * 8
    with pytest.raises(ImageError, match="outside"):
        masks.zone_mask(BoxZone(x=64, y=0, width=5, height=5), gradient(), no_inputs)


def test_mask_picture_of_another_size_or_empty_is_refused():
    wrong = Image.new("L", (32, 32), 255)
    with pytest.raises(ImageError, match="mask is 32x32 but the image is 64x48"):
        masks.zone_mask(MaskZone(image="m.png"), gradient(), lambda ref: wrong)
    empty = Image.new("L", (64, 48), 0)
    with pytest.raises(ImageError, match="mask is empty"):
        masks.zone_mask(MaskZone(image="m.png"), gradient(), lambda ref: empty)
    painted = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    ImageDraw.Draw(painted).rectangle((0, 0, 9, 9), fill=(255, 0, 0, 255))
    from_alpha = masks.zone_mask(MaskZone(image="m.png"), gradient(), lambda ref: painted)
    assert (from_alpha > 0).sum() == 100  # a transparent-brush mask: painted where opaque


def test_grow_and_shrink_by_pixels():
    mask = np.zeros((40, 40), np.uint8)
    mask[15:25, 15:25] = 255
    grown, shrunk = masks.grow(mask, 3), masks.grow(mask, -3)
    assert (grown > 0).sum() > 100 and grown[12, 20] == 255 and grown[11, 20] == 0
    assert (shrunk > 0).sum() == 16 and shrunk[18, 18] == 255
    assert masks.grow(mask, 0) is mask


def test_blur_spreads_the_edge_only():
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 255
    soft = masks.blur(mask, 4)
    assert soft[32, 32] == 255 and soft[0, 0] == 0
    assert 0 < soft[32, 14] < 255 and 0 < soft[32, 17] < 255  # a ramp across the edge
    assert (soft > 0).sum() > (mask > 0).sum()


def test_composite_keeps_every_pixel_where_the_soft_mask_is_zero():
    original, painted = gradient(), Image.new("RGB", (64, 48), (255, 0, 255))
    soft = masks.blur(masks.zone_mask(BoxZone(x=20, y=10, width=20, height=20), original, no_inputs), 4)
    out = np.asarray(masks.composite(original, painted, soft))
    base = np.asarray(original)
    assert np.array_equal(out[soft == 0], base[soft == 0])
    assert np.array_equal(out[soft == 255], np.asarray(painted)[soft == 255])
    ramp = (soft > 0) & (soft < 255)
    assert ramp.any() and (out[ramp] != base[ramp]).any()


def test_crop_region_padding_and_aspect_expansion():
    mask = np.zeros((100, 200), np.uint8)
    mask[40:50, 100:140] = 255
    assert masks.crop_region(mask, 0) == (100, 40, 140, 50)
    box = masks.crop_region(mask, 8)
    assert box == (92, 32, 148, 58)
    x1, y1, x2, y2 = masks.expand_to_ratio(box, 64, 64, 200, 100)
    assert abs((x2 - x1) - (y2 - y1)) <= 1 and x1 <= 92 and x2 >= 148
    # near a border the region slides inside the picture instead of leaving it
    edge = masks.expand_to_ratio((0, 0, 10, 60), 64, 64, 200, 100)
    assert edge[0] == 0 and edge[2] - edge[0] == 60 and edge[3] <= 100


def test_fill_takes_the_surrounding_colours():
    image = Image.new("RGB", (48, 48), (200, 40, 40))
    ImageDraw.Draw(image).rectangle((16, 16, 31, 31), fill=(0, 255, 0))
    mask = Image.new("L", (48, 48), 0)
    ImageDraw.Draw(mask).rectangle((16, 16, 31, 31), fill=255)
    filled = np.asarray(masks.fill(image, mask)).astype(int)
    assert abs(filled[24, 24] - [200, 40, 40]).max() < 12  # the green square is gone


def test_color_correction_removes_a_colour_shift_and_lowers_the_seam_error():
    original = gradient()
    hard = masks.zone_mask(BoxZone(x=20, y=12, width=24, height=24), original, no_inputs)
    shifted = Image.fromarray(np.clip(np.asarray(original).astype(int) + [40, -30, 25], 0, 255).astype(np.uint8))
    soft = masks.blur(hard, 2)
    raw = masks.composite(original, shifted, soft)
    corrected = masks.composite(original, masks.color_correct(shifted, original, hard, 6), soft)
    before, after = masks.seam_error(original, raw, hard), masks.seam_error(original, corrected, hard)
    print(f"seam error, synthetic shift: {before:.2f} -> {after:.2f}")
    assert before > 10 and after < before / 5


def test_detector_registry_finds_a_drawn_face_and_shapes_an_ellipse():
    face = synthetic_face()
    found = detect("face", face)
    assert len(found) == 1
    x, y, w, h = found[0].box
    assert abs(x + w / 2 - 80) < 8 and abs(y + h / 2 - 84) < 10
    mask = found[0].mask
    assert mask[84, 80] == 255 and mask[y + 1, x + 1] == 0 and mask[y + h - 2, x + 1] == 0  # round, not a box
    for point in [(74, 67), (74, 93), (104, 80)]:  # both eyes and the mouth, (row, col)
        assert mask[point] == 255
    zone = masks.zone_mask(DetectZone(detector="face"), face, no_inputs)
    assert np.array_equal(zone, mask)


def test_zone_not_found_and_unknown_detector():
    blank = Image.new("RGB", (96, 96), (128, 128, 128))
    with pytest.raises(masks.ZoneNotFound, match="no face found"):
        masks.zone_mask(DetectZone(detector="face"), blank, no_inputs)
    with pytest.raises(masks.ZoneNotFound, match="only 1 found"):
        masks.zone_mask(DetectZone(detector="face", index=1), synthetic_face(), no_inputs)
    with pytest.raises(InvalidParameter, match="unknown detector 'hands'"):
        detect("hands", blank)


def test_a_new_detector_is_one_registration():
    @detector("test-square")
    def squares(image):
        mask = np.zeros(image.size[::-1], np.uint8)
        mask[2:6, 2:6] = 255
        small = Detection((2, 2, 4, 4), mask)
        big = Detection((0, 0, 10, 10), face_ellipse(image.size, (0, 0, 10, 10)))
        return [small, big]

    try:
        found = detect("test-square", gradient())
        assert [d.box for d in found] == [(0, 0, 10, 10), (2, 2, 4, 4)]  # largest first
        union = masks.zone_mask(DetectZone(detector="test-square", index=None), gradient(), no_inputs)
        assert union[3, 3] == 255 and union[5, 5] == 255
    finally:
        DETECTORS.pop("test-square")
