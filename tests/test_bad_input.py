"""A catalogue of bad inputs: each gives the right exception type and a message naming the
problem, and no torch/numpy internals leak through."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import aekit
from aekit import Autoencoder, GaussianNoise, KLSparsity, ModelFileError
from aekit.datasets import read_idx
from aekit.training import CheckpointError

LEAKS = ("Traceback", "torch.", "numpy.core", "broadcast", "shapes cannot be multiplied",
         "dtype('", "array=[")


def _fit(X, estimator=Autoencoder, **params):
    return estimator(max_iter=1, **params).fit(X)


@pytest.fixture(scope="module")
def fitted():
    return Autoencoder(n_components=2, max_iter=1, random_state=0).fit(np.random.rand(20, 4))


rng = np.random.RandomState(0)
nan_X = rng.rand(10, 3)
nan_X[2, 1] = np.nan
inf_X = rng.rand(10, 3)
inf_X[0, 0] = np.inf
huge_X = rng.rand(10, 3)
huge_X[1, 1] = 1e200

FIT_CASES = [
    ("nan with missing='error'", nan_X, {"missing": "error"}, ValueError,
     "Input X contains NaN"),
    ("inf", inf_X, {}, ValueError, "X contains infinity or a value too large to represent"),
    ("empty", np.empty((0, 3)), {}, ValueError, r"0 sample\(s\) \(shape=\(0, 3\)\)"),
    ("no features", np.empty((5, 0)), {}, ValueError, r"0 feature\(s\)"),
    ("1-D", np.arange(5.0), {}, ValueError, r"X must be 2-D \(n_samples, n_features\); got a 1-D"),
    ("3-D", np.zeros((4, 2, 2)), {}, ValueError, "got 3 dimensions.*ConvAutoencoder"),
    ("scalar", np.float64(3.0), {}, ValueError, "X must be 2-D"),
    ("one sample", rng.rand(1, 3), {}, ValueError, r"1 sample\(s\).*minimum of 2"),
    ("text in a conv model", np.array([[1, "a"], [2, "b"]], dtype=object),
     {"estimator": aekit.ConvAutoencoder}, ValueError,
     r"X contains text \('a'\); aekit needs numbers"),
    ("dict in object array", np.array([[1.0, {"a": 1}], [2.0, 3.0]], dtype=object), {}, TypeError,
     "X contains a value of type dict, not a number"),
    ("complex", np.array([[1 + 1j, 2], [3, 4]]), {}, ValueError, "X contains complex numbers"),
    ("overflow float32", huge_X, {}, ValueError, r"too large for float32 \(max \|x\| = 1e\+200"),
    ("sparse", sp.random(10, 4, density=0.5, format="csr"), {}, TypeError,
     r"Sparse data was passed for X, but dense data is required. Use '.toarray\(\)'"),
    ("pandas with gaps and missing='error'",
     pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": ["x", "y", "z"]}), {"missing": "error"},
     ValueError, r"Input X contains NaN \(missing values in column 'a'\).*missing='mask'"),
    ("table with a value too large for float32",
     pd.DataFrame({"a": [1.0, np.nan, 1e200], "b": ["x", "y", "z"]}), {}, ValueError,
     r"Column 'a' has values too large for float32 \(max \|x\| = 1e\+200"),
    ("negative noise", rng.rand(10, 3), {"constraints": (GaussianNoise(-1),)}, ValueError,
     r"'std' parameter of GaussianNoise must be a float in the range \[0.0, inf\)"),
    ("noise rate above 1", rng.rand(10, 3),
     {"constraints": ({"name": "masking_noise", "params": {"rate": 2}},)}, ValueError,
     r"'rate' parameter of MaskingNoise .* Got 2"),
    ("unknown constraint", rng.rand(10, 3), {"constraints": ("sparsity",)}, ValueError,
     "Unknown constraint 'sparsity'; use one of"),
    ("constraint of wrong type", rng.rand(10, 3), {"constraints": (0.5,)}, TypeError,
     "Each constraint must be an aekit constraint object"),
    ("constraints not a tuple", rng.rand(10, 3), {"constraints": GaussianNoise(0.1)}, ValueError,
     "'constraints' parameter of Autoencoder must be an instance of 'list', an instance of"),
    ("kl target out of range", rng.rand(10, 3), {"constraints": (KLSparsity(target=1.5),)},
     ValueError, r"'target' parameter of KLSparsity"),
    ("zero batch size", rng.rand(10, 3), {"batch_size": 0}, ValueError,
     r"'batch_size' parameter of Autoencoder must be an int in the range \[1, inf\). Got 0"),
    ("negative learning rate", rng.rand(10, 3), {"learning_rate_init": -0.1}, ValueError,
     "'learning_rate_init' parameter"),
    ("n_components zero", rng.rand(10, 3), {"n_components": 0}, ValueError,
     "'n_components' parameter"),
    ("n_components float", rng.rand(10, 3), {"n_components": 2.5}, ValueError,
     "'n_components' parameter of Autoencoder must be an int"),
    ("unknown loss", rng.rand(10, 3), {"loss": "l1"}, ValueError,
     r"'loss' parameter of Autoencoder must be a str among \{.*\}. Got 'l1'"),
    ("unknown activation", rng.rand(10, 3), {"activation": "swish"}, ValueError,
     "'activation' parameter of Autoencoder"),
    ("bad hidden sizes", rng.rand(10, 3), {"hidden_layer_sizes": (4, 0)}, ValueError,
     "hidden_layer_sizes must be 'auto' or a tuple of positive ints"),
    ("bce with standardized data", rng.randn(10, 3), {"loss": "bce", "scaling": "standard"},
     ValueError, r"loss='bce' needs X in \[0, 1\]"),
    ("cuda without cuda", rng.rand(10, 3), {"device": "cuda"}, ValueError,
     "CUDA is not available|device='cuda'"),
    ("garbage device", rng.rand(10, 3), {"device": "gpu-please"}, ValueError,
     r"'device' parameter of Autoencoder must be 'auto', 'cpu'"),
    ("negative tol", rng.rand(10, 3), {"tol": -1.0}, ValueError, "'tol' parameter"),
    ("validation fraction 0", rng.rand(10, 3), {"validation_fraction": 0.0}, ValueError,
     "'validation_fraction' parameter"),
]


@pytest.mark.parametrize("name, X, params, exc, match", FIT_CASES, ids=[c[0] for c in FIT_CASES])
def test_fit_rejects_bad_input_clearly(name, X, params, exc, match):
    with pytest.raises(exc, match=match) as info:
        _fit(X, **params)
    assert not any(leak in str(info.value) for leak in LEAKS), str(info.value)


def test_a_table_row_too_large_after_scaling_is_refused_by_column():
    frame = pd.DataFrame({"a": rng.rand(20), "b": list("xy") * 10})
    model = Autoencoder(n_components=2, max_iter=1, random_state=0).fit(frame)
    with pytest.raises(ValueError, match=r"Column 'a' has values too large for float32 "
                                         r"\(after scaling\)"):
        model.score_samples(frame.assign(a=[3e38] + [0.5] * 19))


def test_transform_rejects_wrong_feature_count(fitted):
    with pytest.raises(ValueError, match="X has 5 features, but Autoencoder is expecting 4"):
        fitted.transform(np.random.rand(3, 5))


def test_score_rejects_nan(fitted):
    X = np.random.rand(3, 4)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fitted.score_samples(X)


def test_inverse_transform_rejects_1d_codes(fitted):
    with pytest.raises(ValueError, match=r"codes must be 2-D"):
        fitted.inverse_transform(np.zeros(2))


def test_transform_rejects_renamed_columns():
    df = pd.DataFrame(np.random.rand(10, 2), columns=["a", "b"])
    model = _fit(df)
    with pytest.raises(ValueError, match="The feature names should match those that were passed"):
        model.transform(df.rename(columns={"b": "c"}))


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "is only 0 bytes"),
        (b"hello world, not a model", "not an aekit model file"),
        (b"\x80\x04\x95pickle", "looks like a pickle/joblib file"),
        (b"PK\x03\x04zip", "looks like a pickle/joblib file"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{}", "truncated"),
    ],
)
def test_loader_rejects_non_models(tmp_path, content, match):
    path = tmp_path / "model.aekit"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=match):
        aekit.load(path)


def test_loader_rejects_a_folder(tmp_path):
    with pytest.raises(ModelFileError, match="is a folder, not an aekit model file"):
        aekit.load(tmp_path)


def test_save_into_a_missing_folder_is_named(tmp_path, fitted):
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        fitted.save(tmp_path / "nope" / "m.aekit")


def test_save_onto_a_folder_is_named(tmp_path, fitted):
    with pytest.raises(IsADirectoryError, match="is a folder; give a file name"):
        fitted.save(tmp_path)


def test_idx_reader_rejects_other_files(tmp_path):
    (tmp_path / "x.idx").write_bytes(b"\x01\x02\x03\x04\x05")
    with pytest.raises(ValueError, match="is not an IDX file"):
        read_idx(tmp_path / "x.idx")
    (tmp_path / "t.idx").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x0a\x01\x02")
    with pytest.raises(ValueError, match="truncated: expected 10 values"):
        read_idx(tmp_path / "t.idx")


def test_checkpoint_folder_holding_a_foreign_file_is_named(tmp_path):
    (tmp_path / "checkpoint.safetensors").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable aekit checkpoint"):
        _fit(np.random.rand(10, 3), checkpoint_dir=tmp_path, resume=True)


def test_cli_demo_rejects_bad_epochs(capsys):
    from aekit.cli import main

    assert main(["demo", "--epochs", "0"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "aekit: error: --epochs must be at least 1; got 0."

