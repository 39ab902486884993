"""The event files read back with TensorBoard's own EventAccumulator."""
import struct
import sys
import zlib

import jax.numpy as jnp
import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from opifex_fit.writers import SummaryWriter
from opifex_fit.writers.png import encode_png


def read(logdir):
  ea = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "images": 0,
                                                    "histograms": 0, "tensors": 0})
  ea.Reload()
  return ea


def decode_png(data):
  """Inverse of encode_png for filter type 0 (what it writes): -> (H, W, C) uint8."""
  assert data[:8] == b"\x89PNG\r\n\x1a\n"
  pos, chunks = 8, {}
  while pos < len(data):
    (n,) = struct.unpack(">I", data[pos:pos + 4])
    kind, payload = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
    (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
    assert crc == zlib.crc32(kind + payload) & 0xFFFFFFFF
    chunks[kind] = chunks.get(kind, b"") + payload
    pos += 12 + n
  w, h, depth, ctype = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
  c = {0: 1, 4: 2, 2: 3, 6: 4}[ctype]
  rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + w * c)
  assert depth == 8 and (rows[:, 0] == 0).all()
  return rows[:, 1:].reshape(h, w, c)


def test_no_tensorflow_imported():
  assert "tensorflow" not in sys.modules


def test_scalars_round_trip(tmp_path):
  with SummaryWriter(tmp_path) as w:
    for step in (1, 2, 3):
      w.write_scalars(step, {"loss": 1.0 / step, "lr_scale": jnp.float32(0.5),
                             "count": np.int32(step)})
  ea = read(tmp_path)
  assert set(ea.Tags()["scalars"]) == {"loss", "lr_scale", "count"}
  loss = ea.Scalars("loss")
  assert [e.step for e in loss] == [1, 2, 3]
  np.testing.assert_allclose([e.value for e in loss], [1.0, 0.5, 1 / 3], rtol=1e-6)
  assert [e.value for e in ea.Scalars("count")] == [1, 2, 3]


def test_histogram_buckets_are_exact(tmp_path):
  data = np.array([0.0, 0.1, 0.2, 0.5, 0.9, 1.0, np.nan, np.inf])
  with SummaryWriter(tmp_path) as w:
    w.write_histograms(7, {"w": data}, num_buckets=4)
    w.write_histograms(8, {"w": data, "const": np.full(5, 2.0)}, num_buckets={"w": 2})
  ea = read(tmp_path)
  h7, h8 = ea.Histograms("w")
  assert h7.step == 7
  v = h7.histogram_value
  # Finite values only: [0, .25) holds 0, .1, .2; [.25, .5) none; [.5, .75) .5; [.75, 1] .9, 1.
  assert (v.min, v.max, v.num) == (0.0, 1.0, 6)
  np.testing.assert_allclose(v.bucket_limit, [0.25, 0.5, 0.75, 1.0])
  assert list(v.bucket) == [3, 0, 1, 2]
  np.testing.assert_allclose(v.sum, 2.7)
  np.testing.assert_allclose(v.sum_squares, 0.01 + 0.04 + 0.25 + 0.81 + 1.0)
  assert list(h8.histogram_value.bucket) == [3, 3]
  const = ea.Histograms("const")[0].histogram_value
  assert (const.min, const.max, list(const.bucket)) == (2.0, 2.0, [5])


def test_images_round_trip_pixels(tmp_path):
  rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
  field = np.linspace(0, 1, 12).reshape(3, 4)          # HxW float in [0, 1]
  batch = np.zeros((2, 4, 4, 1), np.float32)
  batch[1] = 2.0                                        # clipped to white
  with SummaryWriter(tmp_path) as w:
    w.write_images(3, {"rgb": rgb, "field": field, "batch": batch})
  ea = read(tmp_path)
  assert set(ea.Tags()["images"]) == {"rgb", "field", "batch/0", "batch/1"}
  img = ea.Images("rgb")[0]
  assert (img.step, img.height, img.width) == (3, 5, 7)
  np.testing.assert_array_equal(decode_png(img.encoded_image_string), rgb)
  got = decode_png(ea.Images("field")[0].encoded_image_string)
  np.testing.assert_array_equal(got[..., 0], np.round(field * 255).astype(np.uint8))
  assert decode_png(ea.Images("batch/1")[0].encoded_image_string).min() == 255


def test_png_decodes_with_pillow_if_present():
  pil = pytest.importorskip("PIL.Image")
  import io
  rgba = np.random.default_rng(1).integers(0, 256, (6, 3, 4), dtype=np.uint8)
  np.testing.assert_array_equal(np.asarray(pil.open(io.BytesIO(encode_png(rgba)))), rgba)


def test_hparams_plugin_content(tmp_path):
  with SummaryWriter(tmp_path) as w:
    w.write_scalars(5, {"loss": 1.0})
    w.write_hparams({"optimizer": {"lr": 1e-3, "name": "adam"}, "width": np.int64(64),
                     "residual": True, "activation": None})
  ea = read(tmp_path)
  content = ea.PluginTagToContent("hparams")["_hparams_/session_start_info"]
  info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
  assert info.hparams["optimizer.lr"].number_value == pytest.approx(1e-3)
  assert info.hparams["optimizer.name"].string_value == "adam"
  assert info.hparams["width"].number_value == 64
  assert info.hparams["residual"].bool_value is True
  assert info.hparams["activation"].string_value == "None"
  # Written at the last step, so the loss written before is not purged as a restart.
  assert [e.step for e in ea.Scalars("loss")] == [5]


def test_bad_inputs_raise(tmp_path):
  with SummaryWriter(tmp_path) as w:
    with pytest.raises(ValueError, match=r"scalars\['v'\].*shape \(3,\)"):
      w.write_scalars(0, {"v": np.ones(3)})
    with pytest.raises(ValueError, match=r"images\['x'\].*\(2, 2, 5\)"):
      w.write_images(0, {"x": np.zeros((2, 2, 5))})
    with pytest.raises(ValueError, match="num_buckets.*0"):
      w.write_histograms(0, {"h": np.ones(3)}, num_buckets=0)
  with pytest.raises(TypeError, match="logdir"):
    SummaryWriter("")


def test_only_process_zero_writes(tmp_path, monkeypatch):
  import jax
  monkeypatch.setattr(jax, "process_index", lambda: 1)
  w = SummaryWriter(tmp_path / "p1")
  w.write_scalars(1, {"loss": 1.0})
  w.write_hparams({"a": 1})
  w.close()
  assert not w.active and not (tmp_path / "p1").exists()


def test_tensorboard_ui_reader_migrates_everything(tmp_path):
  """The reader behind TensorBoard's dashboards sees scalars, histograms, images."""
  from tensorboard.backend.event_processing import plugin_event_accumulator
  from tensorboard.util import tensor_util
  with SummaryWriter(tmp_path) as w:
    w.write_scalars(4, {"loss": 0.25})
    w.write_histograms(4, {"w": np.arange(10.0)}, num_buckets=5)
    w.write_images(4, {"img": np.zeros((3, 2, 1), np.uint8)})
  ea = plugin_event_accumulator.EventAccumulator(str(tmp_path))
  ea.Reload()
  assert list(ea.PluginTagToContent("scalars")) == ["loss"]
  assert list(ea.PluginTagToContent("histograms")) == ["w"]
  assert list(ea.PluginTagToContent("images")) == ["img"]
  assert tensor_util.make_ndarray(ea.Tensors("loss")[0].tensor_proto) == 0.25
  buckets = tensor_util.make_ndarray(ea.Tensors("w")[0].tensor_proto)   # [left, right, count]
  np.testing.assert_allclose(buckets[:, 2], [2, 2, 2, 2, 2])
  np.testing.assert_allclose(buckets[[0, -1], [0, 1]], [0.0, 9.0])
  width, height = tensor_util.make_ndarray(ea.Tensors("img")[0].tensor_proto)[:2]
  assert (width, height) == (b"2", b"3")
