"""Zone detectors: find things to repaint (faces, ...) and shape a mask for each.

A detector is a function `(image) -> list[Detection]`, largest first, registered by name:

    @detector("hands")
    def hands(image): ...

Detectors work offline from what the installed packages ship (OpenCV's bundled cascades).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

from darkroom.errors import InvalidParameter


@dataclass
class Detection:
    box: tuple[int, int, int, int]  # x, y, width, height
    mask: np.ndarray  # uint8 (H, W) of the whole picture, 255 = the detected thing
    score: float = 1.0


DETECTORS: dict[str, Callable[[Image.Image], list[Detection]]] = {}


def detector(name: str):
    def register(func):
        DETECTORS[name] = func
        return func

    return register


def detect(name: str, image: Image.Image) -> list[Detection]:
    func = DETECTORS.get(name)
    if func is None:
        raise InvalidParameter(f"unknown detector {name!r}; choose one of: {', '.join(sorted(DETECTORS))}")
    found = func(image.convert("RGB"))
    return sorted(found, key=lambda d: d.box[2] * d.box[3], reverse=True)


def ellipse_mask(size: tuple[int, int], center: tuple[float, float], axes: tuple[float, float]) -> np.ndarray:
    canvas = Image.new("L", size, 0)
    (cx, cy), (ax, ay) = center, axes
    ImageDraw.Draw(canvas).ellipse((cx - ax, cy - ay, cx + ax, cy + ay), fill=255)
    return np.asarray(canvas).copy()


def face_ellipse(size: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """An upright ellipse fitted to a frontal-face box.

    The cascade's square box reaches from ear to ear and from the brows' top to below
    the chin; a face is narrower than tall, so the ellipse takes 84% of the box's width
    and 112% of its height, centred a little below the box centre (forehead and chin).
    """
    x, y, w, h = box
    return ellipse_mask(size, (x + w / 2, y + h * 0.52), (w * 0.42, h * 0.56))


_CASCADES: dict[str, object] = {}


def _cascade(name: str):
    import cv2

    if name not in _CASCADES:
        path = cv2.data.haarcascades + name
        classifier = cv2.CascadeClassifier(path)
        if classifier.empty():
            raise InvalidParameter(f"OpenCV's {name} is missing ({path}); install opencv-python 4.x")
        _CASCADES[name] = classifier
    return _CASCADES[name]


@detector("face")
def faces(image: Image.Image) -> list[Detection]:
    """Frontal faces with OpenCV's Haar cascade (ships inside opencv-python)."""
    import cv2

    gray = cv2.equalizeHist(np.asarray(image.convert("L")))
    smallest = max(16, min(image.size) // 12)
    boxes = _cascade("haarcascade_frontalface_default.xml").detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest))
    return [Detection(tuple(int(v) for v in box), face_ellipse(image.size, tuple(int(v) for v in box)))
            for box in (boxes if len(boxes) else [])]
