"""``aekit fit --window`` on a series file, and score/report/encode on the model it writes."""

import numpy as np
import pandas as pd
import pytest

from test_cli import run


@pytest.fixture(scope="module")
def series_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("series")
    n = 1200
    rng = np.random.default_rng(0)
    t = np.arange(n)
    frame = pd.DataFrame({
        "timestamp": pd.date_range("2024-03-01", periods=n, freq="5min").strftime(
            "%Y-%m-%d %H:%M:%S"),
        "cpu": np.sin(2 * np.pi * t / 48) + 0.05 * rng.normal(size=n),
        "mem": np.cos(2 * np.pi * t / 48) + 0.05 * rng.normal(size=n),
        "label": 0,
    })
    frame.loc[800:830, "mem"] += 3.0
    frame.loc[800:830, "label"] = 1
    shuffled = frame.sample(frac=1.0, random_state=1)  # rows out of time order
    frame.drop(columns="label").to_csv(root / "series.csv", index=False)
    shuffled.to_csv(root / "shuffled.csv", index=False)
    frame.to_parquet(root / "series.parquet")
    return root


@pytest.fixture(scope="module")
def series_model(series_files):
    out = run("fit", "series.csv", "--window", "48", "-o", "m.aekit", cwd=series_files)
    assert out.returncode == 0, out.stderr
    assert "windows of 48 steps" in out.stdout and "2 channel(s): cpu, mem" in out.stdout
    return series_files / "m.aekit"


def test_score_writes_one_row_per_input_row_in_input_order(series_files, series_model):
    out = run("score", series_model, "shuffled.csv", "--id-column", "label", "-o", "s.csv",
              cwd=series_files)
    assert out.returncode == 0, out.stderr
    assert "not sorted" in out.stderr  # a note, not a refusal
    scores = pd.read_csv(series_files / "s.csv")
    shuffled = pd.read_csv(series_files / "shuffled.csv")
    assert list(scores.columns) == ["label", "timestamp", "score", "flag", "p_value",
                                    "top_channel", "top_step"]
    assert len(scores) == len(shuffled)
    assert (scores.timestamp == shuffled.timestamp).all()
    flagged = scores.flag.astype(bool)
    assert flagged[scores.label == 1].mean() > 0.8
    anomalous = scores[scores.label == 1]
    assert (anomalous.top_channel == "mem").mean() > 0.8
    assert pd.to_datetime(anomalous.top_step).between("2024-03-03 18:40",
                                                      "2024-03-03 21:10").all()


def test_the_model_file_remembers_the_window_and_matches_columns_by_name(series_files,
                                                                        series_model):
    import aekit

    model = aekit.load(series_model)
    assert model.window_ == 48 and model.channels_ == ["cpu", "mem"]
    frame = pd.read_csv(series_files / "series.csv")
    frame[["mem", "timestamp", "cpu"]].to_csv(series_files / "reordered.csv", index=False)
    a = run("score", series_model, "series.csv", "-o", "a.csv", cwd=series_files)
    b = run("score", series_model, "reordered.csv", "-o", "b.csv", cwd=series_files)
    assert a.returncode == 0 and b.returncode == 0, b.stderr
    np.testing.assert_allclose(pd.read_csv(series_files / "a.csv").score,
                               pd.read_csv(series_files / "b.csv").score, rtol=1e-6)


def test_window_auto_and_parquet(series_files):
    out = run("fit", "series.parquet", "--window", "auto", "--exclude", "label", "-o",
              "auto.aekit", cwd=series_files)
    assert out.returncode == 0, out.stderr
    assert "windows of 60 steps" in out.stdout  # 1200 / 20


def test_report_plots_the_series(series_files, series_model):
    out = run("report", series_model, "shuffled.csv", "--label-column", "label", "-o",
              "r.html", cwd=series_files)
    assert out.returncode == 0, out.stderr
    html = (series_files / "r.html").read_text()
    for heading in ("Scores over time", "Flagged spans", "Windows and their reconstructions"):
        assert heading in html
    assert html.count("data:image/png;base64,") >= 3


@pytest.mark.parametrize("args, message", [
    (("fit", "series.csv", "--window", "five", "-o", "x.aekit"), "--window takes a number"),
    (("fit", "series.csv", "--window", "1", "-o", "x.aekit"), "--window must be auto or"),
    (("fit", "series.csv", "--window", "5000", "-o", "x.aekit"), "longer than the series"),
    (("fit", "series.csv", "--stride", "2", "-o", "x.aekit"), "--stride is for time series"),
    (("fit", "series.csv", "--window", "48", "--time-column", "cpu", "-o", "x.aekit"),
     "holds no dates"),
    (("fit", "shuffled.csv", "--window", "48", "--time-column", "nope", "-o", "x.aekit"),
     "is not a column"),
])
def test_bad_series_options_get_one_line(series_files, args, message):
    out = run(*args, cwd=series_files)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_text_channels_and_other_commands_are_refused_clearly(series_files, series_model):
    frame = pd.read_csv(series_files / "series.csv")
    frame["host"] = "web-1"
    frame.to_csv(series_files / "text.csv", index=False)
    out = run("fit", "text.csv", "--window", "48", "-o", "t.aekit", cwd=series_files)
    assert out.returncode == 2 and "'host'" in out.stderr and "--exclude" in out.stderr
    out = run("encode", series_model, "series.csv", "-o", "codes.csv", cwd=series_files)
    assert out.returncode == 2 and "time-series detector" in out.stderr
