"""TimeSeriesDetector: windows to steps, timestamps, gaps, the anomalies it must find."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from aekit import SequenceAutoencoder, TimeSeriesDetector
from aekit.estimators.windows import dominant_period, to_steps, window_starts

PERIOD = 24


def sine(n=960, seed=0, noise=0.05):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.sin(2 * np.pi * t / PERIOD) + noise * rng.normal(size=n)


def detector(**kwargs):
    kwargs.setdefault("window", PERIOD)
    kwargs.setdefault("random_state", 0)
    return TimeSeriesDetector(**kwargs)


@pytest.fixture(scope="module")
def fitted():
    return detector().fit(sine())


# ---------------------------------------------------------------- the mapping itself
def test_window_starts_cover_both_ends():
    starts = window_starts(100, 10, 7)
    assert starts[0] == 0 and starts[-1] == 90
    covered = np.zeros(100, bool)
    for s in starts:
        covered[s:s + 10] = True
    assert covered.all()


def test_to_steps_averages_the_windows_covering_a_step():
    starts = np.array([0, 1, 2])
    errors = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])  # window 2 over 4 steps
    np.testing.assert_allclose(to_steps(errors, starts, 4, "mean"), [1.0, 2.5, 4.5, 6.0])
    np.testing.assert_allclose(to_steps(errors, starts, 4, 1.0), [1.0, 3.0, 5.0, 6.0])
    np.testing.assert_allclose(to_steps(errors, starts, 4, 0.0), [1.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(to_steps(errors, starts, 4, 0.5), [1.0, 2.5, 4.5, 6.0])
    # Stride 2 with a last window ending at the last step: steps 0..4, window 2.
    starts = window_starts(5, 2, 2)
    assert starts.tolist() == [0, 2, 3]
    errors = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    np.testing.assert_allclose(to_steps(errors, starts, 5, 0.0), [1.0, 2.0, 3.0, 4.0, 6.0])


def test_dominant_period_finds_the_season():
    assert dominant_period(sine()[:, None]) == PERIOD
    assert dominant_period(np.random.default_rng(0).normal(size=(500, 1))) is None


def test_window_auto_is_a_twentieth_of_the_series():
    assert TimeSeriesDetector(random_state=0).fit(sine(960)).window_ == 48
    assert TimeSeriesDetector(random_state=0).fit(sine(100)).window_ == 16


# ---------------------------------------------------------------- scores per step
@pytest.mark.parametrize("k", [400, 0, 959])
def test_a_spike_moves_the_scores_around_it_and_the_ends_are_scored(fitted, k):
    series = sine(seed=1)
    clean = -fitted.score_samples(series)
    series[k] += 4.0
    scores = -fitted.score_samples(series)
    assert scores.shape == (960,)
    assert abs(int(np.argmax(scores)) - k) <= 1
    far = np.abs(np.arange(960) - k) > PERIOD
    # Away from the spike, the scores are those of the clean series.
    np.testing.assert_allclose(scores[far], clean[far], rtol=1e-5, atol=1e-6)
    assert fitted.predict(series)[k] == -1
    near = np.abs(np.arange(960) - k) < PERIOD // 2
    assert (fitted.explain(series).top_step[near] == k).all()


def test_a_level_shift_and_a_lost_season_are_found():
    series = sine(1440, seed=2)
    shift = slice(500, 560)
    flat = slice(1000, 1000 + 3 * PERIOD)
    series[shift] += 1.5
    series[flat] = 0.05 * np.random.default_rng(3).normal(size=3 * PERIOD)
    truth = np.zeros(1440, bool)
    truth[shift] = truth[flat] = True
    model = detector().fit(series)  # unsupervised: fit on the series itself
    scores = -model.score_samples(series)
    np.testing.assert_allclose(scores, model.train_scores_, rtol=1e-5)
    assert roc_auc_score(truth, scores) > 0.9
    near = np.convolve(truth, np.ones(2 * PERIOD - 1), "same") > 0  # within a window
    for anomaly in (shift, flat):
        assert np.median(scores[anomaly]) > scores[~near].max()
    flagged = model.predict(series) == -1
    assert flagged[shift].mean() > 0.5 and flagged[flat].mean() > 0.5
    assert not flagged[~near].any()


def test_clean_reference_then_another_series(fitted):
    series = sine(seed=4)
    series[600:624] = 2.5  # a jump for one period
    flagged = fitted.predict(series) == -1
    assert flagged[600:624].all()
    # False alarms only next to the jump, within the window that saw it.
    outside = np.flatnonzero(flagged & ~np.isin(np.arange(960), np.arange(600, 624)))
    assert np.all(np.abs(outside - 612) <= 12 + PERIOD)
    p = fitted.p_values(series)
    assert p[610] < 0.05 and np.median(p[:500]) > 0.2


def test_multichannel_explanations_name_the_channel():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"cpu": sine(seed=5), "mem": np.cos(np.arange(960) * 0.3),
                          "disk": 0.1 * rng.normal(size=960)})
    model = detector().fit(frame)
    frame.loc[700, "mem"] += 5
    explained = model.explain(frame)
    assert explained.top_channel[700] == "mem" and explained.channel_share[700] > 0.5
    # Steps scored high because their windows hold step 700 point at it.
    assert (explained.top_step[690:711] == 700).all()
    assert model.channels_ == ["cpu", "mem", "disk"]


def test_decision_function_and_threshold_agree(fitted):
    series = sine(seed=6)
    series[100] += 5
    decision = fitted.decision_function(series)
    np.testing.assert_array_equal(fitted.predict(series), np.where(decision < 0, -1, 1))
    assert np.mean(fitted.predict(sine(seed=7)) == -1) < 0.05


# ---------------------------------------------------------------- real-world series
def frame_with_time(n=960, seed=0):
    stamps = pd.date_range("2024-01-01", periods=n, freq="5min")
    return pd.DataFrame({"timestamp": stamps, "value": sine(n, seed)})


def test_timestamp_column_and_row_order_are_kept(fitted):
    frame = frame_with_time(seed=8)
    frame.loc[300, "value"] += 4
    sorted_scores = fitted.score_samples(frame.drop(columns="timestamp"))
    shuffled = frame.sample(frac=1.0, random_state=0)
    with pytest.warns(UserWarning, match="not sorted"):
        scores = fitted.score_samples(shuffled)
    np.testing.assert_allclose(scores, sorted_scores[shuffled.index.to_numpy()], rtol=1e-6)
    indexed = frame.set_index("timestamp")
    np.testing.assert_allclose(fitted.score_samples(indexed), sorted_scores, rtol=1e-6)


def test_duplicate_and_irregular_timestamps_warn_but_keep_every_row(fitted):
    frame = frame_with_time(seed=9)
    frame.loc[10, "timestamp"] = frame.loc[9, "timestamp"]
    frame.loc[500:, "timestamp"] += pd.Timedelta("2h")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = fitted.score_samples(frame)
    text = " ".join(str(w.message) for w in caught)
    assert "duplicate" in text and "longer than the usual step" in text
    assert scores.shape == (960,) and np.isfinite(scores).all()


def test_gaps_are_interpolated_with_a_warning(fitted):
    series = sine(seed=10)
    filled = series.copy()
    series[[50, 51, 52, 700]] = np.nan
    filled[50:53] = np.linspace(filled[49], filled[53], 5)[1:4]
    filled[700] = (filled[699] + filled[701]) / 2
    with pytest.warns(UserWarning, match="4 missing value"):
        scores = fitted.score_samples(series)
    np.testing.assert_allclose(scores, fitted.score_samples(filled), rtol=1e-5)
    with pytest.raises(ValueError, match="no values"):
        fitted.score_samples(np.full(960, np.nan))


def test_history_scores_new_points_in_their_context(fitted):
    series = sine(seed=11)
    old, new = series[:600], series[600:]
    with_context = fitted.score_samples(new, history=old)
    joined = fitted.score_samples(series[600 - (PERIOD - 1):])[PERIOD - 1:]
    np.testing.assert_allclose(with_context, joined, rtol=1e-6)
    assert fitted.score_samples(new[:5], history="fit").shape == (5,)
    with pytest.raises(ValueError, match="fewer than the window"):
        fitted.score_samples(new[:5])


def test_save_and_load_give_the_same_scores(fitted, tmp_path):
    import aekit

    path = tmp_path / "series.aekit"
    fitted.save(path)
    loaded = aekit.load(path)
    series = sine(seed=12)
    np.testing.assert_allclose(loaded.score_samples(series), fitted.score_samples(series),
                               rtol=1e-6)
    assert loaded.window_ == PERIOD and loaded.threshold_ == fitted.threshold_


def test_bad_input_is_refused_clearly(fitted):
    with pytest.raises(ValueError, match="longer than the series"):
        detector(window=500).fit(sine(100))
    with pytest.raises(ValueError, match="infinite"):
        fitted.score_samples(np.r_[sine(), np.inf])
    with pytest.raises(ValueError, match="channels"):
        fitted.score_samples(np.zeros((960, 2)))
    with pytest.raises(ValueError):
        TimeSeriesDetector(aggregate="median").fit(sine())
    with pytest.raises(ValueError):
        TimeSeriesDetector(aggregate=1.5).fit(sine())


def test_custom_window_model_is_used():
    model = detector(estimator=SequenceAutoencoder(4, conv_channels=(4,), max_iter=2))
    model.fit(sine(200))
    assert model.estimator_.n_components_ == 4
    assert model.estimator_.sample_shape_ == (1, PERIOD)
