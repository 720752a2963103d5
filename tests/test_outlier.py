"""OutlierDetector: scikit-learn's checks, thresholds, calibration, explanations, model files."""

import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

import aekit
from aekit import Autoencoder, GaussianNoise, OutlierDetector

FAST_AE = Autoencoder(max_iter=5)
DATASETS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"


@parametrize_with_checks(
    [
        OutlierDetector(),
        OutlierDetector(FAST_AE, contamination=0.1, n_estimators=2,
                        anomaly_score="reconstruction"),
        OutlierDetector(Autoencoder(max_iter=5, constraints=(GaussianNoise(0.1),)),
                        scaling="none", validation_fraction=None),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def _low_rank(n, seed=0, n_features=8, rank=3, noise=0.1):
    """Rows near a ``rank``-dimensional subspace: features predict each other."""
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(123).normal(size=(rank, n_features))
    return rng.normal(size=(n, rank)) @ mixing + noise * rng.normal(size=(n, n_features))


@pytest.fixture(scope="module")
def fitted():
    X = _low_rank(2000)
    return X, OutlierDetector(Autoencoder(max_iter=30), validation_fraction=0.5,
                              random_state=0).fit(X)


# ---------------------------------------------------------------------------- thresholds
@pytest.mark.parametrize("fpr", [0.01, 0.05, 0.2])
def test_fpr_threshold_gives_that_rate_on_fresh_clean_data(fitted, fpr):
    X, det = fitted
    det.set_threshold(fpr=fpr)
    fresh = _low_rank(20000, seed=1)
    rate = float(np.mean(det.predict(fresh) == -1))
    n_cal, n_test = det.n_calibration_, len(fresh)
    assert n_cal == 1000
    # the conformal threshold's rate lies in [fpr - 1/(n_cal + 1), fpr] in expectation; around
    # it, sampling error of both the held-out and the fresh rows (binomial, 3 sigma)
    sigma = np.sqrt(fpr * (1 - fpr) * (1 / n_cal + 1 / n_test))
    assert fpr - 1 / (n_cal + 1) - 3 * sigma <= rate <= fpr + 3 * sigma


def test_fpr_parameter_sets_the_threshold_at_fit():
    X = _low_rank(600)
    a = OutlierDetector(Autoencoder(max_iter=5), fpr=0.1, random_state=0).fit(X)
    b = OutlierDetector(Autoencoder(max_iter=5), random_state=0).fit(X)
    assert a.threshold_ == b.set_threshold(fpr=0.1).threshold_
    assert a.threshold_ < b.set_threshold(fpr=0.02).threshold_


def test_calibrate_on_clean_data_sets_the_fpr_threshold():
    X_train = _low_rank(1500)
    det = OutlierDetector(Autoencoder(max_iter=20), validation_fraction=None,
                          random_state=0).fit(X_train)
    det.calibrate(_low_rank(2000, seed=2), fpr=0.1)
    assert det.n_calibration_ == 2000
    rate = float(np.mean(det.predict(_low_rank(20000, seed=3)) == -1))
    sigma = np.sqrt(0.1 * 0.9 * (1 / 2000 + 1 / 20000))
    assert abs(rate - 0.1) <= 1 / 2001 + 3 * sigma


def test_p_values_are_uniform_on_fresh_clean_data_and_small_for_outliers(fitted):
    X, det = fitted
    p = det.p_values(_low_rank(20000, seed=4))
    for a in (0.05, 0.1, 0.5):
        sigma = np.sqrt(a * (1 - a) * (1 / det.n_calibration_ + 1 / len(p)))
        assert abs(np.mean(p <= a) - a) <= 1 / (det.n_calibration_ + 1) + 3 * sigma
    far = _low_rank(5, seed=5) + 20.0
    assert np.all(det.p_values(far) == 1 / (det.n_calibration_ + 1))
    proba = det.predict_proba(far)
    assert proba.shape == (5, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert np.all(proba[:, 1] > 0.99)


def test_fpr_threshold_flags_exactly_the_rows_with_p_value_at_most_fpr(fitted):
    X, det = fitted
    det.set_threshold(fpr=0.05)
    fresh = _low_rank(5000, seed=6)
    assert np.array_equal(det.predict(fresh) == -1, det.p_values(fresh) <= 0.05)


def test_contamination_flags_that_fraction_of_the_training_rows():
    X = _low_rank(500)
    det = OutlierDetector(Autoencoder(max_iter=5), contamination=0.1, random_state=0).fit(X)
    assert np.sum(det.predict(X) == -1) == 50
    det.set_threshold(contamination=0.2)
    assert np.sum(det.predict(X) == -1) == 100


def test_changing_the_threshold_does_not_retrain(fitted, monkeypatch):
    X, det = fitted
    member = det.estimators_[0]
    weights = {k: v.clone() for k, v in member.module_.state_dict().items()}
    n_iter, module = member.n_iter_, member.module_

    def refuse(*args, **kwargs):
        raise AssertionError("set_threshold must not train")

    monkeypatch.setattr(type(member), "fit", refuse)
    start = time.perf_counter()
    det.set_threshold(contamination=0.05)
    by_contamination = det.threshold_
    det.set_threshold(fpr=0.01)
    det.set_threshold(value=1.5)
    elapsed = time.perf_counter() - start
    assert det.threshold_ == 1.5 and det.offset_ == -1.5
    assert by_contamination != det.threshold_
    assert elapsed < 1.0  # three threshold changes on 2,000 rows: no scoring, no training
    assert member.module_ is module and member.n_iter_ == n_iter
    for k, v in member.module_.state_dict().items():
        assert torch.equal(v, weights[k])


def test_unreachable_fpr_warns_and_uses_the_largest_held_out_score():
    X = _low_rank(100)
    with pytest.warns(UserWarning, match=r"fpr=0.001 needs at least 999 held-out rows"):
        det = OutlierDetector(Autoencoder(max_iter=2), fpr=0.001, random_state=0).fit(X)
    assert det.n_calibration_ == 10
    assert det.threshold_ == np.max(det._calibration_scores)


# ---------------------------------------------------------------------------- consistency
def test_predict_and_decision_function_agree(fitted):
    X, det = fitted
    det.set_threshold(fpr=0.05)
    fresh = np.vstack([_low_rank(300, seed=7), _low_rank(20, seed=8) * 5])
    scores, decision = det.score_samples(fresh), det.decision_function(fresh)
    labels = det.predict(fresh)
    assert np.allclose(decision, scores - det.offset_)
    assert det.threshold_ == -det.offset_
    assert np.array_equal(labels, np.where(decision < 0, -1, 1))
    assert np.array_equal(labels == -1, -scores > det.threshold_)
    assert set(np.unique(labels)) == {-1, 1}


def test_reconstruction_score_is_the_mean_feature_error_over_its_training_median():
    X = _low_rank(400)
    det = OutlierDetector(Autoencoder(max_iter=5), anomaly_score="reconstruction",
                          random_state=0).fit(X)
    errors = det.feature_errors(X[:50]).mean(axis=1)
    assert np.allclose(-det.score_samples(X[:50]), errors / det._medians[0][0])


def test_combined_score_adds_the_code_distance():
    X = _low_rank(400)
    kw = dict(estimator=Autoencoder(max_iter=5), random_state=0)
    combined = OutlierDetector(anomaly_score="combined", **kw).fit(X)
    recon = OutlierDetector(anomaly_score="reconstruction", **kw).fit(X)
    # far along the subspace: reconstructed well, but its code is far from the training codes
    along = _low_rank(1, seed=9, noise=0.0) * 30
    gap = combined.score_samples(along) - recon.score_samples(along)
    assert gap[0] < -10


def test_same_random_state_gives_the_same_scores_and_members_differ():
    X = _low_rank(300)
    a = OutlierDetector(Autoencoder(max_iter=3), n_estimators=2, random_state=0).fit(X)
    b = OutlierDetector(Autoencoder(max_iter=3), n_estimators=2, random_state=0).fit(X)
    assert np.array_equal(a.score_samples(X), b.score_samples(X))
    w0, w1 = (m.module_.state_dict() for m in a.estimators_)
    assert any(not torch.equal(w0[k], w1[k]) for k in w0)


def test_fit_clones_the_estimator_and_leaves_it_unfitted():
    ae = Autoencoder(max_iter=2)
    det = OutlierDetector(ae, random_state=0).fit(_low_rank(100))
    assert not hasattr(ae, "module_") and det.estimators_[0] is not ae


def test_default_estimator_is_sized_from_the_data():
    det = OutlierDetector(random_state=0).fit(_low_rank(200, n_features=10))
    ae = det.estimators_[0]
    assert ae.n_components_ == 5 and ae.scaling_ == "none" and det.scaling_ == "robust"


def test_default_training_budget_by_steps_and_by_multiply_adds():
    det = OutlierDetector()
    # a table of 4,000 rows: 16 batches of 256 an epoch, about 100 steps -> 7 epochs
    small = det._default_estimator(4000, 20, image_like=False)
    assert small.max_iter == 7 and small.hidden_layer_sizes == (20,)
    # 1,000 rows: 4 batches an epoch -> 25 epochs
    assert det._default_estimator(1000, 10, image_like=False).max_iter == 25
    # a table with text or gaps (its encoding 40 wide) keeps the 1,000 steps: 50 epochs here
    assert det._default_estimator(4000, 20, image_like=False, width=40).max_iter == 50
    # large data: 5 epochs at least, whatever the step budget
    assert det._default_estimator(100_000, 20, image_like=False).max_iter == 5
    # images keep their 1,000 steps (batches of n // 16 rows: 16 steps an epoch -> 50 epochs)
    images = det._default_estimator(800, 784, image_like=True)
    assert images.max_iter == 50 and images.hidden_layer_sizes == (256,)
    # a wide table (2,000 x 1,555, like InternetAds): 3 epochs of a narrower network (its
    # floor: twice the code) keep the forward passes near the 1e9 multiply-adds
    wide = det._default_estimator(2000, 1555, image_like=False)
    assert wide.max_iter == 3 and wide.hidden_layer_sizes == (64,)
    middle = det._default_estimator(3000, 166, image_like=False)  # musk: fewer epochs
    assert middle.hidden_layer_sizes == (166,) and middle.max_iter == 4
    assert 4 * 3072 * 2 * 166 * (166 + 32) <= 1e9 < 5 * 3072 * 2 * 166 * (166 + 32)


def test_image_like_data_is_not_rescaled():
    rng = np.random.default_rng(0)
    images = rng.random((60, 256)) * (rng.random((1, 256)) < 0.5)
    det = OutlierDetector(Autoencoder(max_iter=2), random_state=0).fit(images)
    assert det.scaling_ == "none"
    assert det.feature_errors(images[:3]).shape == (3, 256)
    assert det.anomaly_score_ == "reconstruction"


def test_a_wide_table_of_0_1_flags_is_a_table_not_images():
    # like ADBench's InternetAds: 1,555 columns of 0/1 flags; images need grey levels
    flags = (np.random.default_rng(0).random((80, 300)) < 0.2).astype(np.float32)
    det = OutlierDetector(random_state=0).fit(flags)
    assert det.scaling_ == "robust" and det.anomaly_score_ == "combined"
    assert det.forest_ is not None  # the tables' forest beside the autoencoder
    grey = flags * 0.5 + 0.25 * (flags == 0)  # the same data in grey levels
    image = OutlierDetector(random_state=0).fit(grey)
    assert image.scaling_ == "none" and image.anomaly_score_ == "reconstruction"
    assert image.forest_ is None


def test_default_estimator_hides_its_deliberate_convergence_warning():
    from sklearn.exceptions import ConvergenceWarning

    X = _low_rank(100)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        OutlierDetector(random_state=0).fit(X)
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        OutlierDetector(Autoencoder(max_iter=1), random_state=0).fit(X)


def test_works_with_a_convolutional_autoencoder_per_pixel(tmp_path):
    from aekit import ConvAutoencoder
    from aekit.datasets import load_digits

    images = load_digits()  # 8x8 images, flattened
    conv = ConvAutoencoder(n_components=8, conv_channels=(4, 8), max_iter=2)
    det = OutlierDetector(conv, scaling="none", anomaly_score="reconstruction",
                          random_state=0).fit(images)
    errors = det.feature_errors(images[:20])
    assert errors.shape == (20, 64)
    assert np.allclose(-det.score_samples(images[:20]),
                       errors.mean(axis=1) / det._medians[0][0], rtol=1e-4)
    det.save(tmp_path / "conv.aekit")
    back = aekit.load(tmp_path / "conv.aekit")
    assert np.allclose(back.score_samples(images[:20]), det.score_samples(images[:20]))


# ---------------------------------------------------------------------------- explanations
def test_feature_errors_point_at_the_corrupted_feature(fitted):
    X, det = fitted
    rng = np.random.default_rng(10)
    clean = _low_rank(200, seed=11)
    hits = []
    for j in range(X.shape[1]):
        corrupted = clean.copy()
        corrupted[:, j] += rng.choice([-1.0, 1.0], size=len(clean)) * 5.0 * X[:, j].std()
        hits.append(np.mean(det.feature_errors(corrupted).argmax(axis=1) == j))
    assert min(hits) >= 0.9, hits
    assert det.feature_errors(clean).shape == clean.shape


def test_explain_names_the_corrupted_column_with_feature_names():
    pd = pytest.importorskip("pandas")
    X = _low_rank(1000)
    names = [f"sensor_{j}" for j in range(X.shape[1])]
    det = OutlierDetector(Autoencoder(max_iter=30), random_state=0)
    det.fit(pd.DataFrame(X, columns=names))
    row = pd.DataFrame(_low_rank(1, seed=12), columns=names)
    row["sensor_6"] += 6.0 * X[:, 6].std()
    out = det.explain(row, top_k=3)
    assert out.features.shape == (1, 3) and out.features[0, 0] == "sensor_6"
    assert out.indices[0, 0] == 6 and out.shares[0, 0] > 0.5
    assert np.all(np.diff(out.errors[0]) <= 0)
    assert det.predict(row)[0] == -1


def test_explain_without_names_uses_x_indices(fitted):
    X, det = fitted
    out = det.explain(X[:4], top_k=20)
    assert out.features.shape == (4, X.shape[1]) and out.features[0, 0].startswith("x")
    message = r"'top_k' parameter of OutlierDetector.explain must be an int in the range \[1, inf"
    with pytest.raises(ValueError, match=message):
        det.explain(X[:4], top_k=0)


# ---------------------------------------------------------------------------- errors
def test_contamination_and_fpr_together_are_refused():
    with pytest.raises(ValueError, match="Give either contamination or fpr, not both"):
        OutlierDetector(contamination=0.1, fpr=0.05).fit(_low_rank(50))


def test_fpr_without_held_out_rows_is_refused():
    with pytest.raises(ValueError, match="fpr=0.05 needs held-out rows, but validation_fraction"):
        OutlierDetector(fpr=0.05, validation_fraction=None).fit(_low_rank(50))


def test_auto_threshold_without_held_out_rows_flags_one_percent_of_training_rows():
    X = _low_rank(500)
    det = OutlierDetector(Autoencoder(max_iter=2), validation_fraction=None, random_state=0)
    assert np.sum(det.fit(X).predict(X) == -1) == 5


def test_set_threshold_needs_exactly_one_argument(fitted):
    X, det = fitted
    with pytest.raises(ValueError, match="exactly one of contamination, fpr or value; got none"):
        det.set_threshold()
    with pytest.raises(ValueError, match=r"got \['contamination', 'fpr'\]"):
        det.set_threshold(contamination=0.1, fpr=0.1)
    with pytest.raises(ValueError, match=r"'contamination' parameter of OutlierDetector."
                                         r"set_threshold must be a float in the range "
                                         r"\(0.0, 0.5\]. Got 0.7"):
        det.set_threshold(contamination=0.7)
    with pytest.raises(ValueError, match=r"'fpr' parameter of OutlierDetector.set_threshold "
                                         r"must be a float in the range \(0.0, 1.0\). Got 1.5"):
        det.set_threshold(fpr=1.5)


def test_p_values_without_held_out_rows_ask_for_calibrate():
    det = OutlierDetector(Autoencoder(max_iter=2), contamination=0.1, validation_fraction=None,
                          random_state=0).fit(_low_rank(50))
    with pytest.raises(ValueError, match=r"validation_fraction=None; call calibrate\(X_clean\)"):
        det.p_values(_low_rank(5))
    assert not hasattr(det, "predict_proba")
    det.calibrate(_low_rank(100, seed=1))
    assert det.predict_proba(_low_rank(5)).shape == (5, 2)


def test_estimator_must_be_an_aekit_autoencoder():
    from sklearn.decomposition import PCA

    with pytest.raises(ValueError, match="The 'estimator' parameter of OutlierDetector must be"):
        OutlierDetector(PCA()).fit(_low_rank(50))


def test_wrong_feature_count_is_named(fitted):
    X, det = fitted
    with pytest.raises(ValueError, match="X has 3 features, but OutlierDetector is expecting 8"):
        det.predict(np.zeros((2, 3)))


# ---------------------------------------------------------------------------- model files
@pytest.mark.parametrize("score", ["combined", "reconstruction"])
def test_save_load_round_trip(tmp_path, score):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(_low_rank(300), columns=[f"c{j}" for j in range(8)])
    det = OutlierDetector(Autoencoder(max_iter=3, constraints=(GaussianNoise(0.1),)),
                          n_estimators=2, anomaly_score=score, random_state=0).fit(X)
    det.set_threshold(fpr=0.1)
    det.save(tmp_path / "det.aekit")
    back = aekit.load(tmp_path / "det.aekit")
    assert isinstance(back, OutlierDetector)
    assert back.get_params()["estimator"].get_params() == det.estimator.get_params()
    assert back.threshold_ == det.threshold_ and back.n_calibration_ == det.n_calibration_
    fresh = X.iloc[:40] * 1.5
    assert np.allclose(back.score_samples(fresh), det.score_samples(fresh))
    assert np.array_equal(back.predict(fresh), det.predict(fresh))
    assert np.allclose(back.p_values(fresh), det.p_values(fresh))
    assert np.allclose(back.feature_errors(fresh), det.feature_errors(fresh))
    assert list(back.feature_names_in_) == list(det.feature_names_in_)
    back.set_threshold(contamination=0.1)
    det.set_threshold(contamination=0.1)
    assert back.threshold_ == det.threshold_


# ---------------------------------------------------------------------------- quality (slow)
@pytest.mark.slow
def test_default_detector_beats_isolation_forest_on_letter():
    path = DATASETS / "adbench" / "20_letter.npz"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    from sklearn.ensemble import IsolationForest

    with np.load(path) as d:
        X, y = d["X"].astype(np.float32), d["y"]
    ours = roc_auc_score(y, -OutlierDetector(random_state=0).fit(X).score_samples(X))
    trees = roc_auc_score(y, -IsolationForest(random_state=0).fit(X).score_samples(X))
    # measured: 0.678 against 0.643 (0.718 with the 200-step budget, 0.741 with 1,000 steps:
    # letter is one of the tables the shorter training costs; benchmarks/README.md, step 6)
    assert ours > trees + 0.02, (ours, trees)


@pytest.mark.slow
def test_default_detector_beats_pca_one_class_mnist_digit_8():
    folder = DATASETS / "mnist"
    if not folder.exists():
        pytest.skip(f"{folder} is absent")
    from sklearn.decomposition import PCA

    from aekit.datasets import load_mnist_like

    X, y = load_mnist_like(folder)
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:5000], order[5000:]
    X_8, X_test, outlier = X[train][y[train] == 8], X[test], y[test] != 8
    ours = roc_auc_score(outlier, -OutlierDetector(random_state=0).fit(X_8).score_samples(X_test))
    pca = PCA(n_components=0.9, random_state=0).fit(X_8)
    residual = ((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2).sum(axis=1)
    assert ours > roc_auc_score(outlier, residual) + 0.03  # measured: 0.924 against 0.840


def test_standard_scaling_centres_on_the_mean_and_scores_alike_in_any_unit():
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, size=(400, 6)) @ rng.normal(size=(6, 6))
    det = aekit.OutlierDetector(scaling="standard", validation_fraction=None,
                                random_state=0).fit(X)  # statistics of all the rows
    assert det.scaling_ == "standard"
    np.testing.assert_allclose(det.preprocess(X).mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(det.preprocess(X).std(axis=0), 1, atol=1e-4)
    scaled = aekit.OutlierDetector(scaling="standard", validation_fraction=None,
                                   random_state=0).fit(1000 * X)
    np.testing.assert_allclose(scaled.score_samples(1000 * X), det.score_samples(X), rtol=1e-3)
