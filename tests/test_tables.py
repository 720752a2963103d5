"""Issue 13: real tables (text categories, booleans, dates, gaps) in the estimators, the imputer
and the command line."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline

from aekit import Autoencoder, AutoencoderImputer, OutlierDetector
from cli_helpers import run_here


def _mixed(n=160, seed=0):
    """A table whose colour follows the sign of size, with gaps in a number and a category."""
    rng = np.random.default_rng(seed)
    size = rng.normal(size=n)
    frame = pd.DataFrame({
        "size": size,
        "weight": 2.0 * size + rng.normal(scale=0.1, size=n),
        "colour": pd.Series(np.where(size > 0, "red", "blue"), dtype=object),
        "grade": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        "ok": rng.random(n) > 0.5,
        "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
    })
    frame.loc[::7, "weight"] = np.nan
    frame.loc[3::11, "colour"] = None
    return frame


def test_autoencoder_learns_a_mixed_table_and_gives_back_its_columns_and_dtypes():
    frame = _mixed()
    model = Autoencoder(n_components=3, max_iter=150, random_state=0).fit(frame)
    kinds = {c["name"]: c["kind"] for c in model.table_.columns}
    assert kinds == {"size": "numeric", "weight": "numeric", "colour": "categorical",
                     "grade": "categorical", "ok": "boolean", "when": "datetime"}
    back = model.reconstruct(frame)
    assert list(back.columns) == list(frame.columns) and back.index.equals(frame.index)
    assert isinstance(back["grade"].dtype, pd.CategoricalDtype)
    assert list(back["grade"].cat.categories) == ["a", "b", "c"]
    assert pd.api.types.is_datetime64_any_dtype(back["when"])
    assert set(back["colour"].dropna()) <= {"red", "blue"}
    seen = frame["colour"].notna().to_numpy()
    # colour follows size: the network learned it (a constant guess gets about half right)
    assert (back["colour"][seen] == frame["colour"][seen]).mean() > 0.85
    codes = model.transform(frame)
    assert codes.shape == (len(frame), 3) and np.isfinite(codes).all()
    decoded = model.inverse_transform(codes)
    assert isinstance(decoded, pd.DataFrame) and list(decoded.columns) == list(frame.columns)
    with_p = model.reconstruct(frame, probabilities=True)
    assert ((with_p["colour_proba"] > 0) & (with_p["colour_proba"] <= 1)).all()


def test_detector_scores_rows_with_gaps_and_explains_by_column_name():
    frame = _mixed(300)
    det = OutlierDetector(random_state=0).fit(frame)
    scores = det.score_samples(frame)
    assert np.isfinite(scores).all()
    odd = frame.iloc[[0]].copy()
    odd["size"], odd["weight"] = 2.5, -5.0  # far off weight = 2 * size
    member = det.estimators_[0]
    assert member.reconstruction_error(odd)[0] > member.reconstruction_error(frame).max()
    assert det.score_samples(odd)[0] < np.median(scores)  # lower: more abnormal
    named = det.explain(odd, top_k=2).features[0]
    assert set(named) <= set(frame.columns) and "weight" in named


def test_imputer_keeps_observed_entries_exactly_and_fills_every_gap():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(400, 3))
    X = np.column_stack([base, base @ [1.0, -2.0, 0.5], base @ [0.5, 1.0, 1.0]])
    gappy = np.where(rng.random(X.shape) < 0.15, np.nan, X)
    imputer = AutoencoderImputer(random_state=0).fit(gappy)
    filled = imputer.transform(gappy)
    observed = ~np.isnan(gappy)
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[observed], gappy[observed])
    assert imputer.estimator_.n_components == 2 * X.shape[1]  # the overcomplete default code
    hidden = ~observed
    rmse = np.sqrt(np.mean((filled[hidden] - X[hidden]) ** 2))
    mean_rmse = np.sqrt(np.mean((np.nanmean(gappy, axis=0)[None, :].repeat(400, 0)[hidden]
                                 - X[hidden]) ** 2))
    assert rmse < 0.6 * mean_rmse  # the columns' relations were used, not the column means


def test_imputer_in_a_pipeline_and_on_a_dataframe_keeps_its_kind():
    frame = _mixed()
    filled = AutoencoderImputer(random_state=0).fit_transform(frame)
    assert isinstance(filled, pd.DataFrame) and list(filled.columns) == list(frame.columns)
    assert not filled.isna().to_numpy().any()
    seen = frame["colour"].notna()
    assert (filled["colour"][seen] == frame["colour"][seen]).all()
    assert set(filled["colour"]) <= {"red", "blue"}
    numbers = frame[["size", "weight"]].to_numpy()
    y = numbers[:, 0] * 3.0
    pipe = make_pipeline(AutoencoderImputer(random_state=0), LinearRegression()).fit(numbers, y)
    assert pipe.score(numbers, y) > 0.9


@pytest.fixture
def table_files(tmp_path):
    frame = _mixed(200)
    frame.insert(0, "id", [f"r{i}" for i in range(len(frame))])
    frame.to_csv(tmp_path / "mixed.csv", index=False)
    return tmp_path, frame


def test_cli_fits_scores_and_imputes_a_mixed_table_matching_columns_by_name(table_files):
    here, frame = table_files
    fit = run_here("fit", "mixed.csv", "-o", "m.aekit", "--id-column", "id", "--epochs", "5",
                   "--quiet", cwd=here)
    assert fit.returncode == 0, fit.stderr
    a = run_here("score", "m.aekit", "mixed.csv", "-o", "a.csv", cwd=here)
    assert a.returncode == 0, a.stderr
    swapped = frame[["id", "colour", "when", "size", "ok", "grade", "weight"]]
    swapped.to_csv(here / "swapped.csv", index=False)
    b = run_here("score", "m.aekit", "swapped.csv", "-o", "b.csv", cwd=here)
    assert b.returncode == 0, b.stderr
    first, second = pd.read_csv(here / "a.csv"), pd.read_csv(here / "b.csv")
    assert list(first["id"]) == list(frame["id"])  # the ID column is remembered
    np.testing.assert_allclose(first["anomaly_score"], second["anomaly_score"], rtol=1e-6)
    frame.rename(columns={"grade": "level"}).to_csv(here / "renamed.csv", index=False)
    bad = run_here("score", "m.aekit", "renamed.csv", "-o", "c.csv", cwd=here)
    lines = bad.stderr.strip().splitlines()
    assert bad.returncode == 2 and len(lines) == 1 and "grade" in lines[0], bad.stderr
    assert not (here / "c.csv").exists()
    out = run_here("impute", "mixed.csv", "-o", "filled.csv", "--id-column", "id", cwd=here)
    assert out.returncode == 0, out.stderr
    filled = pd.read_csv(here / "filled.csv")
    assert not filled.isna().to_numpy().any() and list(filled["id"]) == list(frame["id"])
    seen = frame["weight"].notna().to_numpy()
    np.testing.assert_allclose(filled["weight"][seen], frame["weight"][seen])


def test_category_levels_and_order_survive_the_model_file(tmp_path):
    import aekit

    frame = _mixed()
    frame["grade"] = frame["grade"].cat.set_categories(["c", "b", "a", "unused"], ordered=True)
    model = Autoencoder(n_components=3, max_iter=5, random_state=0).fit(frame)
    model.save(tmp_path / "m.aekit")
    back = aekit.load(tmp_path / "m.aekit").reconstruct(frame)
    assert back["grade"].dtype == frame["grade"].dtype  # levels, their order and ordered
