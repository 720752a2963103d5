"""PSNR and SSIM: hand-checked values, layouts, and scikit-image as a reference when installed."""

import numpy as np
import pytest

from aekit.metrics import as_image_batch, psnr, ssim


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    clean = rng.random((4, 1, 12, 12))
    noisy = np.clip(clean + 0.2 * rng.standard_normal(clean.shape), 0, 1)
    return clean, noisy


# ---------------------------------------------------------------------------- PSNR
def test_psnr_of_identical_images_is_infinite_and_ssim_is_one(images):
    clean, _ = images
    assert psnr(clean, clean) == np.inf
    assert ssim(clean, clean) == pytest.approx(1.0, abs=1e-12)
    assert ssim(clean, clean, window="gaussian") == pytest.approx(1.0, abs=1e-12)


def test_psnr_of_a_known_mse_is_the_formula():
    clean = np.zeros((3, 16))
    # a constant error of 0.1: MSE 0.01, so 10 log10(1 / 0.01) = 20 dB
    assert psnr(clean, clean + 0.1) == pytest.approx(20.0)
    # half the pixels off by 0.2: MSE 0.02 -> 10 log10(50) = 16.9897 dB
    other = clean.copy()
    other[:, ::2] = 0.2
    assert psnr(clean, other) == pytest.approx(10 * np.log10(50))
    # 8-bit images: an error of 25.5 on a range of 255 is again 20 dB
    assert psnr(clean, clean + 25.5, data_range=255) == pytest.approx(20.0)


def test_psnr_is_the_mean_of_the_per_image_values():
    clean = np.zeros((2, 4))
    other = np.stack([np.full(4, 0.1), np.full(4, 0.01)])  # 20 dB and 40 dB
    per_image = psnr(clean, other, per_image=True)
    np.testing.assert_allclose(per_image, [20.0, 40.0])
    assert psnr(clean, other) == pytest.approx(30.0)


def test_metrics_agree_across_layouts(images):
    clean, noisy = images
    flat = (clean.reshape(4, -1), noisy.reshape(4, -1))
    three_d = (clean[:, 0], noisy[:, 0])
    for metric in (psnr, ssim):
        expected = metric(clean, noisy)
        assert metric(*flat) == pytest.approx(expected)
        assert metric(*three_d) == pytest.approx(expected)
        assert metric(*flat, image_shape=(12, 12)) == pytest.approx(expected)


# ---------------------------------------------------------------------------- SSIM
def test_ssim_of_constant_images_is_the_luminance_term():
    # no structure: variances and covariance are 0, so SSIM = (2ab + C1) / (a^2 + b^2 + C1)
    a, b, c1 = 0.5, 0.6, 0.01**2
    expected = (2 * a * b + c1) / (a**2 + b**2 + c1)
    value = ssim(np.full((1, 9, 9), a), np.full((1, 9, 9), b))
    assert value == pytest.approx(expected)


def test_ssim_is_symmetric_and_drops_with_more_noise(images):
    clean, noisy = images
    assert ssim(clean, noisy) == pytest.approx(ssim(noisy, clean))
    noisier = np.clip(clean + 0.5 * np.random.default_rng(1).standard_normal(clean.shape), 0, 1)
    assert 0 < ssim(clean, noisier) < ssim(clean, noisy) < 1
    per_image = ssim(clean, noisy, per_image=True)
    assert per_image.shape == (4,)
    assert per_image.mean() == pytest.approx(ssim(clean, noisy))


def test_ssim_of_an_inverted_image_is_negative():
    rng = np.random.default_rng(2)
    x = rng.random((1, 10, 10))
    assert ssim(x, 1 - x) < 0


def test_ssim_averages_the_channels():
    rng = np.random.default_rng(3)
    clean = rng.random((2, 3, 9, 9))
    other = np.clip(clean + 0.1 * rng.standard_normal(clean.shape), 0, 1)
    per_channel = [ssim(clean[:, [c]], other[:, [c]], per_image=True) for c in range(3)]
    np.testing.assert_allclose(ssim(clean, other, per_image=True), np.mean(per_channel, axis=0))


@pytest.mark.parametrize("window", ["uniform", "gaussian"])
def test_ssim_matches_scikit_image(window):
    metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(4)
    clean = rng.random((3, 2, 20, 24))
    other = np.clip(clean + 0.15 * rng.standard_normal(clean.shape), 0, 1)
    if window == "uniform":
        ours = ssim(clean, other, per_image=True)
        kwargs = {}
    else:
        ours = ssim(clean, other, window="gaussian", win_size=11, sigma=1.5, per_image=True)
        kwargs = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}
    theirs = [metrics.structural_similarity(clean[i], other[i], data_range=1.0, channel_axis=0,
                                            **kwargs) for i in range(3)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    np.testing.assert_allclose(
        psnr(clean, other, per_image=True),
        [metrics.peak_signal_noise_ratio(clean[i], other[i], data_range=1.0) for i in range(3)],
    )


# ---------------------------------------------------------------------------- errors
def test_metrics_reject_images_of_different_shapes():
    with pytest.raises(ValueError, match="clean and other must hold the same images"):
        psnr(np.zeros((2, 16)), np.zeros((3, 16)))


def test_metrics_need_an_image_shape_for_non_square_rows():
    with pytest.raises(ValueError, match="not a square number of pixels; pass image_shape"):
        ssim(np.zeros((2, 12)), np.zeros((2, 12)))
    with pytest.raises(ValueError, match=r"image_shape=\(1, 3, 5\) holds 15 values"):
        psnr(np.zeros((2, 12)), np.zeros((2, 12)), image_shape=(3, 5))


def test_ssim_rejects_images_smaller_than_the_window():
    with pytest.raises(ValueError, match="needs images at least 7x7; got 5x5"):
        ssim(np.zeros((1, 5, 5)), np.zeros((1, 5, 5)))
    assert ssim(np.zeros((1, 5, 5)), np.zeros((1, 5, 5)), win_size=3) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"data_range": 0}, r"The 'data_range' parameter of ssim must be a float in the range "
                            r"\(0.0, inf\). Got 0 instead"),
        ({"window": "box"}, r"The 'window' parameter of ssim must be a str among"),
        ({"win_size": 4}, "'win_size' parameter of ssim must be an odd int >= 3"),
        ({"win_size": 1}, r"'win_size' parameter of ssim must be an int in the range \[3, inf\)"),
    ],
)
def test_ssim_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ssim(np.zeros((1, 9, 9)), np.zeros((1, 9, 9)), **kwargs)


def test_metrics_reject_nan_and_non_numbers():
    with pytest.raises(ValueError, match="must be finite"):
        psnr(np.full((1, 4), np.nan), np.zeros((1, 4)))
    with pytest.raises(TypeError, match="clean must hold numbers"):
        psnr(np.array([["a", "b", "c", "d"]]), np.zeros((1, 4)))


def test_as_image_batch_checks_given_images_against_image_shape():
    assert as_image_batch(np.zeros((2, 3, 4, 5)), (3, 4, 5)).shape == (2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"holds images of shape \(3, 4, 5\), but image_shape"):
        as_image_batch(np.zeros((2, 3, 4, 5)), (4, 5))
    with pytest.raises(ValueError, match="must be 2-D"):
        as_image_batch(np.zeros(5))
