"""Shared fixtures (the helpers behind them live in support.py)."""

import pytest

from support import make_learner, sine_data


@pytest.fixture
def data():
  return sine_data()


@pytest.fixture
def learner():
  return make_learner()
