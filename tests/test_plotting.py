"""Displays: they render to PNG (Agg) and draw what they claim (lines, images, thresholds, bars)."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.base import BaseEstimator  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from aekit import (  # noqa: E402
    Autoencoder,
    ConvAutoencoder,
    GaussianNoise,
    KLSparsity,
    OutlierDetector,
)
from aekit.datasets import load_digits  # noqa: E402
from aekit.metrics import psnr  # noqa: E402
from aekit.plotting import (  # noqa: E402
    CodeActivationDisplay,
    CodeMapDisplay,
    LossCurveDisplay,
    ReconstructionDisplay,
    ScoreHistogramDisplay,
)

FAST = dict(hidden_layer_sizes=(16,), max_iter=4, random_state=0)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny problems: on a busy machine, extra threads spin at barriers (10x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):  # BLAS and OpenMP (t-SNE)
        yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_y=True)
    return X[:200], y[:200]


@pytest.fixture(scope="module")
def model(digits):
    X, _ = digits
    return Autoencoder(6, early_stopping=True, **FAST).fit(X)


def save(display, tmp_path, name="plot.png"):
    path = tmp_path / name
    display.figure_.savefig(path, dpi=50)
    assert path.stat().st_size > 1000
    return path


def test_importing_aekit_and_its_plotting_does_not_import_matplotlib():
    code = ("import sys, aekit, aekit.plotting, aekit.metrics; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------- loss curves
def test_loss_curve_display_draws_training_and_validation_curves(model, tmp_path):
    display = LossCurveDisplay.from_estimator(model)
    save(display, tmp_path)
    epochs = np.arange(1, model.n_iter_ + 1)
    np.testing.assert_array_equal(display.line_.get_xdata(), epochs)
    np.testing.assert_allclose(display.line_.get_ydata(), model.loss_curve_)
    # held-out error per feature, times the features: the units of the training loss
    expected = -np.asarray(model.validation_scores_) * model.n_features_in_
    np.testing.assert_allclose(display.validation_line_.get_ydata(), expected)
    assert len(display.ax_.get_lines()) == 2
    labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert labels == ["training loss", "held-out reconstruction error"]


def test_loss_curve_display_puts_pretraining_levels_before_the_fine_tuning(digits, tmp_path):
    X, _ = digits
    model = Autoencoder(4, hidden_layer_sizes=(16, 8), pretraining="greedy", max_iter=3,
                        random_state=0).fit(X)
    display = LossCurveDisplay.from_estimator(model, log_scale=True)
    save(display, tmp_path)
    curves = model.pretraining_loss_curves_
    assert len(display.pretraining_lines_) == len(curves) == 3
    assert display.validation_line_ is None
    start = 0
    for line, curve in zip(display.pretraining_lines_, curves):
        expected = np.arange(start + 1, start + len(curve) + 1)
        np.testing.assert_array_equal(line.get_xdata(), expected)
        start += len(curve)
    assert display.line_.get_xdata()[0] == start + 1
    assert display.ax_.get_yscale() == "log"


def test_loss_curve_display_explains_what_it_needs():
    with pytest.raises(TypeError, match="needs a fitted estimator with loss_curve_"):
        LossCurveDisplay.from_estimator(PCA(2))


# ---------------------------------------------------------------------------- image grids
def test_reconstruction_display_shows_originals_over_reconstructions(model, digits, tmp_path):
    X, _ = digits
    display = ReconstructionDisplay.from_estimator(model, X, n_images=5)
    save(display, tmp_path)
    assert display.axes_.shape == (2, 5)
    assert len(display.images_) == 10
    np.testing.assert_allclose(display.images_[0].get_array(), X[0].reshape(8, 8))
    np.testing.assert_allclose(display.images_[5].get_array(),
                               model.reconstruct(X[:1]).reshape(8, 8), rtol=1e-6)
    assert [display.axes_[r, 0].get_ylabel() for r in range(2)] == ["original", "reconstruction"]
    np.testing.assert_allclose(display.psnr, psnr(X[:5], model.reconstruct(X[:5]),
                                                  per_image=True), rtol=1e-6)
    assert display.axes_[1, 2].get_xlabel() == f"{display.psnr[2]:.1f} dB"


def test_reconstruction_display_shows_noisy_and_denoised_rows(digits, tmp_path):
    X, _ = digits
    model = Autoencoder(8, constraints=(GaussianNoise(0.3),), **FAST).fit(X)
    noisy = np.clip(X + 0.3 * np.random.default_rng(0).standard_normal(X.shape), 0, 1)
    display = ReconstructionDisplay.from_estimator(model, X, X_noisy=noisy, indices=[3, 7, 9])
    save(display, tmp_path)
    assert display.axes_.shape == (3, 3)
    assert [display.axes_[r, 0].get_ylabel() for r in range(3)] == [
        "original", "noisy", "denoised"]
    np.testing.assert_allclose(display.images_[4].get_array(), noisy[7].reshape(8, 8))
    denoised = model.reconstruct(noisy[[3, 7, 9]])
    np.testing.assert_allclose(display.psnr, psnr(X[[3, 7, 9]], denoised, per_image=True),
                               rtol=1e-6)
    np.testing.assert_allclose(display.noisy_psnr, psnr(X[[3, 7, 9]], noisy[[3, 7, 9]],
                                                        per_image=True))


def test_reconstruction_display_reads_the_image_shape_of_conv_models(digits, tmp_path):
    X, _ = digits
    images = X[:64].reshape(-1, 1, 8, 8)
    conv = ConvAutoencoder(4, conv_channels=(2, 4), max_iter=1, random_state=0).fit(images)
    for data in (images, X[:64]):  # 4-D images, and flattened rows
        display = ReconstructionDisplay.from_estimator(conv, data, n_images=3)
        assert display.images_[0].get_array().shape == (8, 8)
    save(display, tmp_path)


def test_reconstruction_display_works_with_pca_and_given_predictions(digits, tmp_path):
    X, _ = digits
    pca = PCA(5).fit(X)
    display = ReconstructionDisplay.from_estimator(pca, X, n_images=4)
    np.testing.assert_allclose(display.reconstructions[:, 0].reshape(4, -1),
                               pca.inverse_transform(pca.transform(X[:4])))
    rng = np.random.default_rng(0)
    rgb = rng.random((3, 3, 10, 10))
    display = ReconstructionDisplay.from_predictions(rgb, rgb * 0.9, image_shape=(3, 10, 10))
    save(display, tmp_path)
    assert display.images_[0].get_array().shape == (10, 10, 3)


def test_reconstruction_display_explains_bad_images(model, digits):
    X, _ = digits
    with pytest.raises(ValueError, match="not a square number of pixels; pass image_shape"):
        ReconstructionDisplay.from_predictions(np.zeros((2, 12)), np.zeros((2, 12)))
    with pytest.raises(ValueError, match="1 \\(grey\\) or 3 \\(RGB\\) channels; got 2"):
        ReconstructionDisplay.from_predictions(np.zeros((2, 2, 4, 4)), np.zeros((2, 2, 4, 4)))
    with pytest.raises(ValueError, match="X_noisy must have X's shape"):
        ReconstructionDisplay.from_estimator(model, X, X_noisy=X[:10])
    with pytest.raises(NotFittedError, match="not fitted"):
        ReconstructionDisplay.from_estimator(Autoencoder(), X)


# ---------------------------------------------------------------------------- code maps
def test_code_map_display_colours_each_class_and_subsamples(model, digits, tmp_path):
    X, y = digits
    display = CodeMapDisplay.from_estimator(model, X, y, max_samples=40, random_state=0,
                                            tsne_params={"max_iter": 250})
    save(display, tmp_path)
    assert display.embedding.shape == (40, 2)
    assert len(display.indices) == 40 and len(set(display.indices)) == 40
    classes = np.unique(y[display.indices])
    assert len(display.collections_) == len(classes)
    assert [t.get_text() for t in display.legend_.get_texts()] == [str(c) for c in classes]
    assert sum(len(c.get_offsets()) for c in display.collections_) == 40
    assert display.ax_.get_xlabel() == "t-SNE 1"


def test_code_map_display_draws_two_unit_codes_as_they_are(digits, tmp_path):
    X, _ = digits
    pca = PCA(2).fit(X)
    display = CodeMapDisplay.from_estimator(pca, X, X.sum(axis=1))  # floats: a colour bar
    save(display, tmp_path)
    np.testing.assert_allclose(display.embedding, pca.transform(X))
    assert display.colorbar_ is not None and display.legend_ is None
    assert display.ax_.get_xlabel() == "code unit 1"
    display = CodeMapDisplay.from_estimator(PCA(5).fit(X), X, method="pca")
    assert display.ax_.get_xlabel() == "PC 1"


def test_code_map_display_checks_its_arguments(model, digits):
    X, y = digits
    with pytest.raises(ValueError, match="method must be 'tsne' or 'pca'"):
        CodeMapDisplay.from_estimator(model, X, method="umap")
    with pytest.raises(ValueError, match="y must hold one label per row of X"):
        CodeMapDisplay.from_estimator(model, X, y[:10])


# ---------------------------------------------------------------------------- score histograms
@pytest.fixture(scope="module")
def detector(digits):
    X, _ = digits
    small = Autoencoder(4, hidden_layer_sizes=(16,), max_iter=3)
    return OutlierDetector(small, random_state=0).fit(X)


def test_score_histogram_draws_the_detectors_threshold(detector, digits, tmp_path):
    X, _ = digits
    rng = np.random.default_rng(0)
    X_all = np.vstack([X, rng.random((10, 64)).astype(np.float32)])
    y = np.r_[np.zeros(len(X)), np.ones(10)]
    display = ScoreHistogramDisplay.from_estimator(detector, X_all, y)
    save(display, tmp_path)
    assert display.threshold_line_.get_xdata()[0] == pytest.approx(detector.threshold_)
    assert display.flagged_fraction == pytest.approx(np.mean(detector.predict(X_all) == -1))
    inliers, outliers = display.patches_
    assert sum(p.get_height() for p in inliers) == len(X)
    assert sum(p.get_height() for p in outliers) == 10
    labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert labels[:2] == [f"inliers ({len(X)})", "outliers (10)"]
    # the random rows score thousands of times the median: the score axis turns logarithmic
    assert display.ax_.get_xscale() == "log"


def test_score_histogram_works_with_any_score_samples(model, digits, tmp_path):
    X, _ = digits
    forest = IsolationForest(random_state=0).fit(X)
    display = ScoreHistogramDisplay.from_estimator(forest, X)
    save(display, tmp_path)
    assert display.threshold_line_.get_xdata()[0] == pytest.approx(-forest.offset_)
    assert display.ax_.get_xscale() == "linear"
    # sklearn's labels: -1 marks the outliers
    labels = np.where(np.arange(len(X)) < 5, -1, 1)
    display = ScoreHistogramDisplay.from_estimator(model, X, labels)  # no threshold
    assert display.threshold_line_ is None
    assert sum(p.get_height() for p in display.patches_[1]) == 5
    np.testing.assert_allclose(display.scores, model.reconstruction_error(X))


def test_score_histogram_from_scores_and_its_errors():
    display = ScoreHistogramDisplay.from_scores([1.0, 2.0, 3.0, 10.0], threshold=2.5)
    assert display.flagged_fraction == 0.5
    with pytest.raises(ValueError, match="y must mark outliers with 1"):
        ScoreHistogramDisplay.from_scores([1.0, 2.0], [2, 3])
    with pytest.raises(ValueError, match="xscale='log' needs positive scores"):
        ScoreHistogramDisplay.from_scores([-1.0, 2.0], xscale="log")
    with pytest.raises(TypeError, match="needs an estimator with a score_samples"):
        ScoreHistogramDisplay.from_estimator(StandardScaler().fit(np.eye(3)), np.eye(3))


# ---------------------------------------------------------------------------- activations
class _FixedCodes(BaseEstimator):
    """An encoder with hand-made codes: unit 0 dead, unit 1 always on, unit 2 sparse."""

    def fit(self, X, y=None):
        self.constraints_ = (KLSparsity(target=0.1),)
        return self

    def transform(self, X):
        n = len(X)
        sparse = np.where(np.arange(n) % 10 == 0, 0.9, 0.01)
        return np.column_stack([np.full(n, 0.001), np.full(n, 0.95), sparse])


def test_activation_display_marks_dead_and_always_on_units(tmp_path):
    display = CodeActivationDisplay.from_estimator(_FixedCodes().fit(None), np.zeros((50, 4)))
    save(display, tmp_path)
    assert display.target == 0.1  # read from the KLSparsity in constraints_
    assert display.target_line_.get_ydata()[0] == pytest.approx(0.1)
    np.testing.assert_array_equal(display.dead, [True, False, False])
    np.testing.assert_array_equal(display.always_on, [False, True, False])
    heights = [bar.get_height() for bar in display.bars_]
    np.testing.assert_allclose(heights, [0.001, 0.95, 0.099])
    colors = [matplotlib.colors.to_hex(bar.get_facecolor()) for bar in display.bars_]
    assert colors[0] == matplotlib.colors.to_hex("0.6")
    assert colors[1] == matplotlib.colors.to_hex("C3")
    assert colors[2] == matplotlib.colors.to_hex("C0")
    labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert labels == ["active (1)", "dead (1)", "always on (1)", "sparsity target 0.1"]


def test_activation_display_of_a_kl_sparse_model(digits, tmp_path):
    X, _ = digits
    sparse = Autoencoder(12, constraints=(KLSparsity(0.05),), **FAST).fit(X)
    display = CodeActivationDisplay.from_estimator(sparse, X)
    save(display, tmp_path)
    assert len(display.bars_) == 12
    np.testing.assert_allclose(display.mean_activation, sparse.transform(X).mean(axis=0),
                               rtol=1e-6)
    assert display.target == 0.05 and display.ax_.get_ylabel() == "mean activation"


def test_activation_display_of_a_linear_code_uses_absolute_values(model, digits):
    X, _ = digits
    display = CodeActivationDisplay.from_estimator(model, X)
    assert display.target is None and display.target_line_ is None
    assert display.always_on is None
    assert display.ax_.get_ylabel() == "mean |activation|"
    np.testing.assert_allclose(display.mean_activation, np.abs(model.transform(X)).mean(axis=0),
                               rtol=1e-6)
