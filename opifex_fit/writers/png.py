"""A minimal PNG encoder, so images need neither TensorFlow nor Pillow.

TensorBoard stores images as encoded PNG bytes. Its own encoder
(``tensorboard.util.encoder``) imports TensorFlow, so we write the few bytes
of the format ourselves: signature, IHDR, one zlib-compressed IDAT with filter
type 0 on every row, IEND (PNG spec, sections 5, 11.2, 12.7).

Example:
  >>> import numpy as np
  >>> from opifex_fit.writers.png import encode_png
  >>> encode_png(np.zeros((4, 5, 3), np.uint8))[:8]
  b'\\x89PNG\\r\\n\\x1a\\n'
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

# PNG colour types by channel count: grey, grey+alpha, RGB, RGBA.
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}


def _chunk(kind: bytes, payload: bytes) -> bytes:
  crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
  return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def encode_png(image: np.ndarray, compression: int = 6) -> bytes:
  """Encodes a ``uint8`` array of shape ``(H, W, C)``, C in 1..4, as PNG."""
  image = np.asarray(image)
  if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] not in _COLOR_TYPE:
    raise ValueError("encode_png expects a uint8 array of shape (H, W, C) with"
                     f" C in 1..4; got dtype {image.dtype}, shape {image.shape}")
  height, width, channels = image.shape
  header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPE[channels], 0, 0, 0)
  # Each scanline is prefixed by its filter type; 0 means "none".
  rows = np.concatenate([np.zeros((height, 1), np.uint8),
                         image.reshape(height, width * channels)], axis=1)
  return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
          + _chunk(b"IDAT", zlib.compress(rows.tobytes(), compression))
          + _chunk(b"IEND", b""))
