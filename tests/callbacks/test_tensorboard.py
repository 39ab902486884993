"""cb.TensorBoard through real fits, read back with TensorBoard's EventAccumulator."""
import io

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

import opifex_fit as of
from opifex_fit import callbacks as cb
from support import make_learner, sine_data

GRID = np.linspace(-1, 1, 24, dtype=np.float32)[:, None]


def read(logdir):
  ea = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "images": 0,
                                                    "histograms": 0, "tensors": 0})
  ea.Reload()
  return ea


def scalars(ea, tag):
  return {e.step: e.value for e in ea.Scalars(tag)}


def hparams_of(ea):
  content = ea.PluginTagToContent("hparams")["_hparams_/session_start_info"]
  return plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams


def test_scalars_match_history_and_validation_lands_at_its_step(tmp_path, data):
  learner = make_learner()
  h = learner.fit(data, steps=120, validation_data=sine_data(32, seed=1), validation_every=60,
                  callbacks=[cb.TensorBoard(tmp_path, every=40)], verbose=0)
  ea = read(tmp_path)
  assert {"loss", "data_loss", "lr_scale", "skipped_updates", "val_loss", "val_data_loss",
          "steps_per_sec"} <= set(ea.Tags()["scalars"])
  loss = scalars(ea, "loss")
  assert sorted(loss) == [40, 80, 120]
  for step, value in loss.items():
    np.testing.assert_allclose(value, h.loss[h.steps.index(step)], rtol=1e-6)
  # Validation at 60 and 120: step 60 is not a TensorBoard step, still written there.
  val = scalars(ea, "val_loss")
  assert sorted(val) == [60, 120]
  np.testing.assert_allclose(val[60], h.val_loss[h.steps.index(60)], rtol=1e-6)
  # The first write only starts the clock.
  rate = scalars(ea, "steps_per_sec")
  assert sorted(rate) == [80, 120] and all(r > 0 for r in rate.values())


def test_histograms_are_the_final_params_and_their_gradients(tmp_path, data):
  learner = make_learner()
  learner.fit(data, steps=100, callbacks=[cb.TensorBoard(tmp_path, every=50, histograms=True,
                                                         hparams=False)], verbose=0)
  ea = read(tmp_path)
  kernel = learner.state.params["layers"][1]["kernel"][...]
  h = ea.Histograms("params/layers/1/kernel")[-1]
  assert h.step == 100
  v = h.histogram_value
  np.testing.assert_allclose([v.min, v.max, v.num, v.sum],
                             [kernel.min(), kernel.max(), kernel.size, kernel.sum()], rtol=1e-5)
  assert sum(v.bucket) == kernel.size == 16 * 16
  # Gradient of the mean squared error, by hand on the final weights.
  x, y = map(jnp.asarray, data)
  model = learner.model
  def mse(m):
    return jnp.mean((m(x) - y) ** 2)
  grads = nnx.grad(mse)(model)
  g_bias = np.asarray(grads["layers"][2]["bias"][...])
  gh = ea.Histograms("grads/layers/2/bias")[-1].histogram_value
  np.testing.assert_allclose([gh.num, gh.sum], [1, g_bias.sum()], rtol=1e-4, atol=1e-6)
  g_kernel = np.asarray(grads["layers"][0]["kernel"][...])
  gk = ea.Histograms("grads/layers/0/kernel")[-1].histogram_value
  np.testing.assert_allclose([gk.sum, gk.sum_squares],
                             [g_kernel.sum(), (g_kernel ** 2).sum()], rtol=1e-4, atol=1e-7)
  # The training chunk was compiled once: histograms run their own function.
  assert learner.trace_counts["chunk"] == 1


def test_images_field_is_rescaled_to_its_range(tmp_path, data):
  def field(learner):
    u = learner.predict(GRID).reshape(4, 6)   # a float field, any range
    return {"u": u, "rgb": np.full((2, 3, 3), 0.5, np.float32)}
  learner = make_learner()
  learner.fit(data, steps=60, callbacks=[cb.TensorBoard(tmp_path, every=30, images=field)],
              verbose=0)
  ea = read(tmp_path)
  events = ea.Images("u")
  assert [e.step for e in events] == [30, 60] and (events[-1].height, events[-1].width) == (4, 6)
  u = np.asarray(learner.predict(GRID)).reshape(4, 6)
  expected = np.round((u - u.min()) / (u.max() - u.min()) * 255).astype(np.uint8)
  pil = pytest.importorskip("PIL.Image")
  got = np.asarray(pil.open(io.BytesIO(events[-1].encoded_image_string)))
  np.testing.assert_allclose(got.astype(int), expected.astype(int), atol=1)
  assert got.min() == 0 and got.max() == 255
  rgb = np.asarray(pil.open(io.BytesIO(ea.Images("rgb")[-1].encoded_image_string)))
  assert rgb.shape == (2, 3, 3) and (rgb == 128).all()   # RGB floats are intensities


def test_hparams_once_with_model_problem_and_optimizer_settings(tmp_path, data):
  model = of.models.MLP(1, [8, 1], rngs=nnx.Rngs(0))
  opt = optax.inject_hyperparams(optax.adam)(learning_rate=2e-3)
  learner = of.Learner(model, of.Supervised("mse"), opt)
  learner.fit(data, steps=20, callbacks=[cb.TensorBoard(tmp_path, hparams={"note": "x"})],
              verbose=0)
  hp = hparams_of(read(tmp_path))
  assert hp["model"].string_value == "MLP" and hp["problem"].string_value == "Supervised"
  assert hp["num_params"].number_value == (1 * 8 + 8) + (8 * 1 + 1)
  assert hp["loss_terms"].string_value == "data" and hp["note"].string_value == "x"
  assert hp["optimizer.learning_rate"].number_value == pytest.approx(2e-3)


def test_second_fit_appends_without_a_restart_purge(tmp_path, data):
  learner = make_learner()
  for _ in range(2):
    learner.fit(data, steps=40, callbacks=[cb.TensorBoard(tmp_path, every=20)], verbose=0)
  ea = read(tmp_path)
  # The second fit's hparams go at step 40, so TensorBoard keeps steps 20 and 40.
  assert sorted(scalars(ea, "loss")) == [20, 40, 60, 80]


class RecordingWriter:
  """Any CLU-style MetricWriter: records what it is given."""

  def __init__(self):
    self.calls = []

  def write_scalars(self, step, scalars):
    self.calls.append(("scalars", step, dict(scalars)))

  def write_images(self, step, images):
    self.calls.append(("images", step, {k: np.shape(v) for k, v in images.items()}))

  def write_histograms(self, step, arrays, num_buckets=None):
    self.calls.append(("histograms", step, sorted(arrays)))

  def write_hparams(self, hparams):
    self.calls.append(("hparams", None, dict(hparams)))

  def flush(self):
    self.calls.append(("flush", None, None))

  def close(self):
    self.calls.append(("close", None, None))


def test_any_clu_style_writer(data):
  w = RecordingWriter()
  learner = make_learner()
  learner.fit(data, steps=50, callbacks=[cb.TensorBoard(None, every=25, writer=w,
                                                        images=lambda l: {"a": np.zeros((2, 2))})],
              verbose=0)
  kinds = [c[0] for c in w.calls]
  assert kinds == ["hparams", "scalars", "images", "scalars", "images", "flush"]  # not closed
  assert [c[1] for c in w.calls if c[0] == "scalars"] == [25, 50]
  assert "loss" in w.calls[1][2] and "steps_per_sec" in w.calls[3][2]


def test_bad_arguments_are_refused():
  with pytest.raises(TypeError, match="logdir"):
    cb.TensorBoard(None)
  with pytest.raises(TypeError, match="lacks.*write_hparams"):
    cb.TensorBoard(writer=object())
  with pytest.raises(ValueError, match="every.*-5"):
    cb.TensorBoard("runs", every=-5)
  with pytest.raises(TypeError, match="images"):
    cb.TensorBoard("runs", images="u")
  with pytest.raises(TypeError, match="hparams"):
    cb.TensorBoard("runs", hparams=[1, 2])
  with pytest.raises(TypeError, match="histograms"):
    cb.TensorBoard("runs", histograms="yes")
  assert cb.TensorBoard("runs").order == 90


def test_events_before_a_failure_reach_the_disk(tmp_path, data):
  def boom(learner):
    if learner.step == 40:
      raise RuntimeError("boom")
  learner = make_learner()
  with pytest.raises(RuntimeError, match="boom"):
    learner.fit(data, steps=100, verbose=0, callbacks=[
        cb.TensorBoard(tmp_path, every=20), cb.LambdaCallback(on_step_end=boom, every=20)])
  assert sorted(scalars(read(tmp_path), "loss")) == [20]   # 40 raised before TensorBoard ran
