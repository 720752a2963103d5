import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from aekit import Autoencoder, GaussianNoise, KLSparsity, MaskingNoise, TopK
from aekit.datasets import load_digits

FAST = dict(max_iter=15, random_state=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_y=True)
    return X[:400], y[:400]


def test_transform_gives_codes_and_inverse_transform_returns_to_input_space(digits):
    X, _ = digits
    model = Autoencoder(n_components=6, **FAST).fit(X)
    codes = model.transform(X)
    assert codes.shape == (400, 6) and codes.dtype == np.float32
    recon = model.inverse_transform(codes)
    assert recon.shape == X.shape
    np.testing.assert_allclose(recon, model.reconstruct(X), atol=1e-5)
    assert model.module_.encoder.sizes == (64, 64, 6)  # "auto": one hidden layer of 64


def test_hidden_layer_sizes_describe_the_encoder_and_the_decoder_mirrors():
    X = np.random.RandomState(0).rand(50, 20)
    model = Autoencoder(n_components=3, hidden_layer_sizes=(16, 8), max_iter=1).fit(X)
    assert model.module_.encoder.sizes == (20, 16, 8, 3)
    assert model.module_.decoder.sizes == (3, 8, 16, 20)
    assert model.hidden_layer_sizes_ == (16, 8)


def test_default_n_components_is_half_the_features_capped_at_32():
    assert Autoencoder(max_iter=1).fit(np.random.rand(30, 10)).n_components_ == 5
    assert Autoencoder(max_iter=1).fit(np.random.rand(30, 100)).n_components_ == 32


def test_same_random_state_gives_identical_weights_and_scores(digits):
    X, _ = digits
    a = Autoencoder(n_components=4, constraints=(GaussianNoise(0.1),), **FAST).fit(X)
    b = Autoencoder(n_components=4, constraints=(GaussianNoise(0.1),), **FAST).fit(X)
    for pa, pb in zip(a.module_.parameters(), b.module_.parameters()):
        assert np.array_equal(pa.detach().numpy(), pb.detach().numpy())
    assert np.array_equal(a.score_samples(X), b.score_samples(X))
    c = Autoencoder(n_components=4, max_iter=15, random_state=1).fit(X)
    assert not np.array_equal(a.transform(X), c.transform(X))


def test_scaling_auto_keeps_unit_data_and_standardizes_other_data():
    rng = np.random.RandomState(0)
    unit = Autoencoder(max_iter=1).fit(rng.rand(40, 4))
    assert unit.scaling_ == "none" and unit.output_activation_ == "sigmoid"
    wide = Autoencoder(max_iter=1).fit(rng.randn(40, 4) * 100)
    assert wide.scaling_ == "standard" and wide.output_activation_ == "linear"
    bce = Autoencoder(loss="bce", max_iter=1).fit(rng.randn(40, 4) * 100)
    assert bce.scaling_ == "minmax" and bce.output_activation_ == "sigmoid"


def test_reconstruction_is_in_the_original_units():
    X = np.random.RandomState(0).randn(300, 5) * 50 + 1000
    model = Autoencoder(n_components=4, max_iter=60, random_state=0).fit(X)
    recon = model.reconstruct(X)
    assert abs(recon.mean() - 1000) < 10
    assert np.mean((recon - X) ** 2) < np.var(X)


def test_bce_refuses_data_outside_unit_interval():
    X = np.random.RandomState(0).randn(20, 3) * 3
    with pytest.raises(ValueError, match=r"loss='bce' needs X in \[0, 1\]; X after scaling="):
        Autoencoder(loss="bce", scaling="standard").fit(X)


def test_sigmoid_output_refuses_standardized_data():
    X = np.random.RandomState(0).randn(20, 3)
    with pytest.raises(ValueError, match=r"output_activation='sigmoid' can only produce values"):
        Autoencoder(output_activation="sigmoid", scaling="standard").fit(X)


def test_bce_needs_a_sigmoid_output():
    X = np.random.RandomState(0).rand(20, 3)
    with pytest.raises(ValueError, match="loss='bce' needs output_activation='sigmoid'"):
        Autoencoder(loss="bce", output_activation="linear").fit(X)


def test_kl_sparsity_makes_the_code_sigmoid_and_overcomplete_codes_allowed():
    X = np.random.RandomState(0).rand(60, 8)
    model = Autoencoder(n_components=20, hidden_layer_sizes=(),
                        constraints=(KLSparsity(0.05),), **FAST).fit(X)
    codes = model.transform(X)
    assert model.code_activation_ == "sigmoid"
    assert codes.min() > 0 and codes.max() < 1 and codes.shape == (60, 20)


def test_topk_constraint_keeps_k_units_at_inference():
    X = np.random.RandomState(0).rand(60, 8)
    codes = Autoencoder(n_components=6, constraints=(TopK(2),), **FAST).fit(X).transform(X)
    assert ((codes != 0).sum(axis=1) <= 2).all()


def test_conflicting_code_constraints_are_refused():
    with pytest.raises(ValueError, match="Only one constraint may shape the code"):
        Autoencoder(constraints=(TopK(2), TopK(3))).fit(np.random.rand(10, 4))


def test_fit_does_not_mutate_the_users_constraints():
    kl = KLSparsity(0.05)
    model = Autoencoder(n_components=4, constraints=(kl,), **FAST).fit(np.random.rand(30, 5))
    assert model.constraints[0] is kl and not hasattr(kl, "_running")
    assert model.constraints_[0] is not kl


def test_unknown_constraint_name_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown constraint 'dropout'"):
        Autoencoder(constraints=("dropout",)).fit(np.random.rand(10, 4))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"batch_size": 0}, r"'batch_size' parameter of Autoencoder must be an int in the range"),
        ({"learning_rate_init": -1.0}, r"'learning_rate_init' parameter of Autoencoder"),
        ({"loss": "l2"}, r"'loss' parameter of Autoencoder must be a str among"),
        ({"n_components": 0}, r"'n_components' parameter of Autoencoder"),
        ({"validation_fraction": 1.0}, r"'validation_fraction' parameter"),
        ({"hidden_layer_sizes": (10, -2)}, "hidden_layer_sizes must be 'auto' or a tuple"),
        ({"activation": ("relu", "nope")}, "activation must be one name or one per hidden layer"),
        ({"device": "tpu:x"}, r"'device' parameter of Autoencoder must be 'auto'"),
    ],
)
def test_bad_hyperparameters_are_named(params, match):
    with pytest.raises(ValueError, match=match):
        Autoencoder(max_iter=1, **params).fit(np.random.rand(10, 4))


def test_transform_rejects_wrong_feature_count():
    model = Autoencoder(max_iter=1).fit(np.random.rand(10, 4))
    with pytest.raises(ValueError, match="X has 3 features, but Autoencoder is expecting 4"):
        model.transform(np.random.rand(5, 3))


def test_inverse_transform_rejects_codes_of_the_wrong_width():
    model = Autoencoder(n_components=2, max_iter=1).fit(np.random.rand(10, 4))
    with pytest.raises(ValueError, match="codes have 3 columns, but Autoencoder has n_comp"):
        model.inverse_transform(np.random.rand(5, 3))


def test_unfitted_use_raises_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        Autoencoder().transform(np.random.rand(5, 3))


def test_values_overflowing_float32_are_refused():
    X = np.random.rand(10, 3)
    X[0, 0] = 1e300
    with pytest.raises(ValueError, match="too large for float32"):
        Autoencoder().fit(X)


def test_float64_in_float64_out_and_scores_are_negative_errors(digits):
    X, _ = digits
    model = Autoencoder(n_components=6, **FAST).fit(X.astype(np.float64))
    assert model.transform(X.astype(np.float64)).dtype == np.float64
    errors = model.reconstruction_error(X)
    assert (errors > 0).all()
    np.testing.assert_allclose(model.score_samples(X), -errors)
    np.testing.assert_allclose(errors, ((model.reconstruct(X) - X) ** 2).mean(axis=1), rtol=1e-4)
    assert model.score(X) == pytest.approx(-errors.mean())


def test_pandas_in_pandas_out_with_feature_names():
    df = pd.DataFrame(np.random.RandomState(0).rand(30, 3), columns=["a", "b", "c"])
    model = Autoencoder(n_components=2, max_iter=2).set_output(transform="pandas").fit(df)
    out = model.transform(df)
    assert list(out.columns) == ["autoencoder0", "autoencoder1"]
    assert list(model.feature_names_in_) == ["a", "b", "c"]


def test_works_in_a_pipeline_and_in_grid_search(digits):
    X, y = digits
    pipe = make_pipeline(Autoencoder(n_components=8, **FAST), LogisticRegression(max_iter=500))
    assert pipe.fit(X, y).score(X, y) > 0.5
    search = GridSearchCV(
        Autoencoder(max_iter=20, batch_size=32, random_state=0),
        {"n_components": [2, 8], "constraints": [(), (MaskingNoise(0.2),)]},
        cv=2,
    ).fit(X)
    assert search.best_params_["n_components"] == 8  # a wider code reconstructs better
    assert clone(search.best_estimator_).get_params()["n_components"] == 8


def test_early_stopping_records_validation_scores():
    X = np.random.RandomState(0).rand(100, 6)
    model = Autoencoder(n_components=2, early_stopping=True, max_iter=20, random_state=0).fit(X)
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == pytest.approx(max(model.validation_scores_))
    assert Autoencoder(max_iter=2).fit(X).validation_scores_ is None


def test_verbose_shows_a_progress_bar(capsys):
    Autoencoder(n_components=2, max_iter=3, verbose=1).fit(np.random.rand(20, 4))
    assert "epoch" in capsys.readouterr().err


def test_gaussian_noise_is_clipped_to_unit_data_and_not_to_standardized_data(digits, tmp_path):
    import aekit

    digits = digits[0]
    noisy = (GaussianNoise(0.5),)
    images = Autoencoder(8, constraints=noisy, max_iter=2, random_state=0).fit(digits)
    assert images.input_range_ == (0.0, 1.0)
    assert images.constraints_[0]._bounds() == (0.0, 1.0)  # the noise the network trains on
    table = Autoencoder(8, constraints=noisy, max_iter=2, random_state=0).fit(digits * 5 - 1)
    assert table.scaling_ == "standard" and table.input_range_ is None
    assert table.constraints_[0]._bounds() is None
    images.save(tmp_path / "m.aekit")
    assert aekit.load(tmp_path / "m.aekit").input_range_ == (0.0, 1.0)
