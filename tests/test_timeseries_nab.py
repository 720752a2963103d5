"""The Keras exercise on NAB (issue 15): train on a clean reference series, score one with a
jump. The localizing settings flag every step of the jump, and nothing outside NAB's labelled
window; the defaults (smooth scores, for unsupervised use) flag the window too, and their
flags start within one window of the jump."""

import json

import numpy as np
import pandas as pd
import pytest

from aekit import TimeSeriesDetector

TRAIN = "artificialNoAnomaly/art_daily_small_noise.csv"
TEST = "artificialWithAnomaly/art_daily_jumpsup.csv"


@pytest.fixture(scope="module")
def keras_exercise(shared_datasets):
    folder = shared_datasets / "nab"
    if not (folder / TEST).is_file():
        pytest.skip(f"{folder} not found")
    train = pd.read_csv(folder / TRAIN, parse_dates=["timestamp"])
    test = pd.read_csv(folder / TEST, parse_dates=["timestamp"])
    (begin, end), = json.loads((folder / "combined_windows.json").read_text())[TEST]
    inside = ((test.timestamp >= pd.Timestamp(begin)) & (test.timestamp <= pd.Timestamp(end)))
    return train, test, inside.to_numpy()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_localizing_settings_flag_the_jump_and_nothing_else(keras_exercise, seed):
    train, test, inside = keras_exercise
    detector = TimeSeriesDetector(288, aggregate=0.25, risk=1e-5, random_state=seed).fit(train)
    assert not (detector.predict(train) == -1).any()
    flagged = detector.predict(test) == -1
    jump_days = slice(2988, 3096)  # the raised day part (values 110-165 instead of 70-90)
    assert flagged[jump_days].all()
    assert not flagged[~inside].any()  # no false alarm before the window, nor after it


def test_defaults_flag_the_window_and_start_within_a_window_of_it(keras_exercise):
    train, test, inside = keras_exercise
    detector = TimeSeriesDetector(288, random_state=0).fit(train)
    flagged = detector.predict(test) == -1
    assert flagged[inside].all()
    outside = np.flatnonzero(flagged & ~inside)
    assert outside.min() >= 2988 - 288 and outside.max() <= 3095 + 288
    # Each flag outside points at the jump as the step that drove it.
    drivers = detector.explain(test).top_step.to_numpy()[outside]
    assert ((drivers >= 2988) & (drivers <= 3095)).all()
