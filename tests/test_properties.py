"""Property-based tests (hypothesis) and a fuzz test of the model loader."""

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import aekit
from aekit import Autoencoder, ModelFileError

LEAKS = ("Traceback", "torch.", "numpy.core", "broadcast", "shapes cannot be multiplied",
         "dtype('", "array=[")

dtypes = st.sampled_from([np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_])
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(-1e6, 1e6, width=32),
)


@st.composite
def matrices(draw):
    n = draw(st.integers(0, 12))
    d = draw(st.integers(0, 5))
    dtype = draw(dtypes)
    if np.issubdtype(dtype, np.floating):
        return draw(arrays(dtype, (n, d), elements=values.filter(
            lambda v: dtype == np.float64 or not np.isfinite(v) or abs(v) < 3e38)))
    return draw(arrays(dtype, (n, d)))


def _clear(exc: Exception) -> bool:
    return isinstance(exc, (ValueError, TypeError)) and not any(
        leak in str(exc) for leak in LEAKS)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # numpy's overflow noise is a bug too
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(X=matrices(), k=st.integers(1, 4))
def test_fit_transform_score_give_a_clear_error_or_finite_results(X, k):
    model = Autoencoder(n_components=k, hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    try:
        model.fit(X)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions
        assert _clear(exc), f"{type(exc).__name__}: {exc}"
        return
    codes, scores = model.transform(X), model.score_samples(X)
    assert codes.shape == (X.shape[0], k) and scores.shape == (X.shape[0],)
    assert np.isfinite(codes).all() and np.isfinite(scores).all()
    assert model.reconstruct(X).shape == X.shape


@pytest.mark.filterwarnings("error::RuntimeWarning")
@settings(max_examples=25, deadline=None)
@given(Y=matrices())
def test_a_fitted_model_gives_a_clear_error_or_finite_scores_on_any_input(Y):
    model = Autoencoder(n_components=2, max_iter=1, random_state=0).fit(
        np.random.RandomState(0).rand(10, 3))
    try:
        scores = model.score_samples(Y)
    except Exception as exc:  # noqa: BLE001
        assert _clear(exc), f"{type(exc).__name__}: {exc}"
        return
    assert scores.shape == (Y.shape[0],) and np.isfinite(scores).all()


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "m.aekit"
    Autoencoder(n_components=2, hidden_layer_sizes=(4,), max_iter=1, random_state=0).fit(
        np.random.RandomState(0).rand(20, 5)).save(path)
    return path.read_bytes()


def test_fuzzed_model_files_only_give_aekit_errors(tmp_path, model_bytes):
    rng = np.random.default_rng(0)
    path = tmp_path / "fuzz.aekit"
    variants = [model_bytes[:cut] for cut in rng.integers(0, len(model_bytes), 60)]
    for _ in range(150):
        blob = bytearray(model_bytes)
        for pos in rng.integers(0, len(blob), rng.integers(1, 4)):
            blob[pos] ^= 1 << int(rng.integers(0, 8))
        variants.append(bytes(blob))
    for blob in variants:
        path.write_bytes(blob)
        start = time.perf_counter()
        with pytest.raises(ModelFileError):
            aekit.load(path)
        assert time.perf_counter() - start < 5.0  # no hang


# ---------------------------------------------------------------- columns matched by name
@pytest.fixture(scope="module")
def csv_model(tmp_path_factory):
    import pandas as pd

    from aekit.cli import main

    root = tmp_path_factory.mktemp("perm")
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.rand(50, 5), columns=list("abcde"))
    frame.insert(2, "name", [f"n{i}" for i in range(50)])
    frame["kind"] = rng.choice(["x", "y", "z"], 50)
    frame.to_csv(root / "data.csv", index=False)
    assert main(["fit", str(root / "data.csv"), "-o", str(root / "m.aekit"), "--epochs", "2",
                 "--quiet"]) == 0
    assert main(["score", str(root / "m.aekit"), str(root / "data.csv"), "-o",
                 str(root / "base.csv"), "--quiet"]) == 0
    return root, frame, pd.read_csv(root / "base.csv")


@settings(max_examples=12, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(7)))
def test_scoring_a_csv_with_its_columns_in_any_order_gives_the_same_rows(csv_model, order):
    import contextlib
    import io

    import pandas as pd

    from aekit.cli import main

    root, frame, base = csv_model
    shuffled = frame[[frame.columns[i] for i in order]]
    shuffled.to_csv(root / "shuffled.csv", index=False)
    with contextlib.redirect_stderr(io.StringIO()):
        code = main(["score", str(root / "m.aekit"), str(root / "shuffled.csv"), "-o",
                     str(root / "s.csv"), "--quiet"])
    assert code == 0
    pd.testing.assert_frame_equal(pd.read_csv(root / "s.csv"), base)
