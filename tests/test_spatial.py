"""Spatial codes and photos of any size (issue 20): code maps, whole images, random patches."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

import aekit
from aekit.errors import DataFileError


def smooth_images(n, shape=(3, 40, 56), seed=0):
    rng = np.random.default_rng(seed)
    raw = rng.random((n, *shape))
    return np.clip(gaussian_filter(raw, (0, 0, 3, 3)) * 3 - 1, 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def photos():
    return list(smooth_images(6))


@pytest.fixture(scope="module")
def model(photos):
    patches = aekit.random_patches(photos, 16, 1500, random_state=0)
    return aekit.ConvAutoencoder(code="spatial", conv_channels=(16,), max_iter=15,
                                 random_state=0).fit(patches)


def test_random_patches_are_seeded_and_come_from_the_images(photos):
    a = aekit.random_patches(photos, 16, 50, random_state=3)
    b = aekit.random_patches(photos, 16, 50, random_state=3, flips=False)
    assert a.shape == (50, 3, 16, 16) and a.dtype == np.float32
    np.testing.assert_array_equal(a, aekit.random_patches(photos, 16, 50, random_state=3))
    first = b[0]  # an unflipped patch occurs somewhere in one of the photos
    assert any((np.lib.stride_tricks.sliding_window_view(p, (3, 16, 16))[0] == first)
               .all(axis=(-3, -2, -1)).any() for p in photos)
    with pytest.raises(DataFileError, match="smaller than patch_size"):
        aekit.random_patches([photos[0], np.zeros((3, 8, 8))], 16)
    with pytest.raises(DataFileError, match="different channel counts"):
        aekit.random_patches([photos[0], np.zeros((40, 40))], 16)


def test_code_map_round_trip_and_model_file(model, photos, tmp_path):
    patches = aekit.random_patches(photos, 16, 20, random_state=1)
    assert model.code_shape_ == (6, 8, 8) and model.n_components_ == 6 * 64  # half of 3x16x16
    codes = model.transform(patches)
    assert codes.shape == (20, 6 * 64)
    np.testing.assert_allclose(model.inverse_transform(codes), model.reconstruct(patches),
                               atol=1e-6)
    model.save(tmp_path / "m.aekit")
    loaded = aekit.load(tmp_path / "m.aekit")
    np.testing.assert_array_equal(loaded.reconstruct_image(photos[0]),
                                  model.reconstruct_image(photos[0]))


@pytest.mark.parametrize("size", [(37, 53), (16, 16), (101, 17)])
def test_whole_images_keep_their_size(model, size):
    image = smooth_images(1, (3, *size), seed=5)[0]
    out = model.reconstruct_image(image)
    assert out.shape == image.shape and out.dtype == np.float64
    assert np.sqrt(np.mean((out - image) ** 2)) < 0.15  # it reconstructs, not just shapes
    batch = model.reconstruct(np.stack([image, image]))  # 4-D of another size: each whole
    np.testing.assert_allclose(batch[1], out, atol=1e-6)


def test_a_whole_image_has_no_tile_seams(model):
    """Fully convolutional: a crop (aligned to the stride) of the whole image's result equals
    the result of the crop away from its borders, so nothing marks where patches would join;
    and a constant image comes back flat."""
    image = smooth_images(1, (3, 64, 96), seed=7)[0]
    whole = model.reconstruct_image(image)
    part = model.reconstruct_image(image[:, 16:48, 32:80])
    np.testing.assert_allclose(whole[:, 24:40, 40:72], part[:, 8:24, 8:40], atol=1e-5)
    flat = model.reconstruct_image(np.full((3, 64, 96), 0.5, np.float32))
    inner = flat[:, 4:-4, 4:-4]
    assert np.abs(np.diff(inner, axis=1)).max() < 0.03
    assert np.abs(np.diff(inner, axis=2)).max() < 0.03


def test_gray_images_and_clear_refusals(photos):
    gray = [p[0] for p in photos]
    patches = aekit.random_patches(gray, 16, 300, random_state=0)
    model = aekit.ConvAutoencoder(code="spatial", conv_channels=(8,), max_iter=2,
                                  random_state=0).fit(patches)
    assert model.reconstruct_image(gray[0]).shape == gray[0].shape
    with pytest.raises(ValueError, match=r"must be \(1, height, width\)"):
        model.reconstruct_image(photos[0])
    dense = aekit.ConvAutoencoder(max_iter=1, random_state=0).fit(patches)
    assert dense.reconstruct_image(gray[0]).shape == gray[0].shape  # blended patches
    for bad, message in ((dict(constraints=(aekit.TopK(2),)), "needs code='dense'"),
                         (dict(pretraining="greedy"), "pretraining=None")):
        with pytest.raises(ValueError, match=message):
            aekit.ConvAutoencoder(code="spatial", max_iter=1, **bad).fit(patches)


def test_cli_trains_on_patches_and_denoises_each_photo_at_its_size(tmp_path, capsys):
    from PIL import Image

    from aekit.cli import main

    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    sizes = [(45, 61), (80, 40), (33, 33)]
    for i, (h, w) in enumerate(sizes):
        pixels = (smooth_images(1, (3, h, w), seed=i)[0].transpose(1, 2, 0) * 255)
        Image.fromarray(pixels.astype(np.uint8)).save(photos / f"p{i}.png")
    Image.fromarray(np.full((30, 50, 4), 128, np.uint8), "RGBA").save(photos / "q.png")
    model = tmp_path / "m.aekit"
    assert main(["fit", str(photos), "--patch", "16", "--patches", "400", "--epochs", "3",
                 "--noise", "gaussian", "--noise-level", "0.1", "-o", str(model), "--quiet"]) == 0
    assert "dropped the alpha channel of 1 image(s)" in capsys.readouterr().err
    assert main(["denoise", str(model), str(photos), "-o", str(out), "--quiet"]) == 0
    for i, (h, w) in enumerate(sizes):
        with Image.open(out / f"p{i}.png") as im:
            assert im.size == (w, h) and im.mode == "RGB"
    assert main(["score", str(model), str(photos), "-o", str(tmp_path / "s.csv")]) == 2
    assert main(["fit", str(photos), "--patches", "50", "-o", str(model)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "denoises whole images" in err[-2] and "--patches needs --patch" in err[-1]


@pytest.mark.parametrize("size", [(37, 53), (16, 16), (9, 70)])
def test_dense_code_blends_overlapping_patches_without_seams(photos, size):
    """A dense-code model on a larger (or odd, or thinner) image: patches of the training size
    overlapping by half, Hann-weighted. The weights add up to one, so a model that gives each
    patch back exactly gives the image back exactly; and when every patch comes back off by its
    own constant, the blend moves smoothly between them (no jump where patches meet)."""
    dense = aekit.ConvAutoencoder(8, max_iter=1, random_state=0).fit(
        aekit.random_patches(photos, 16, 200, random_state=0))
    image = smooth_images(1, (3, *size), seed=3)[0].astype(np.float64)
    dense.reconstruct = lambda X: np.asarray(X)  # the blending alone, on an exact "model"
    np.testing.assert_allclose(dense.reconstruct_image(image), image, atol=1e-6)
    offsets = iter(np.random.default_rng(0).uniform(-0.5, 0.5, 10_000))
    dense.reconstruct = lambda X: np.asarray(X) * 0 + np.array(
        [next(offsets) for _ in range(len(X))])[:, None, None, None]
    flat = dense.reconstruct_image(np.zeros((3, *size)))
    assert flat.shape == (3, *size) and np.abs(flat).max() > 0.05
    steepest = max(np.abs(np.diff(flat, axis=a)).max() for a in (1, 2))
    assert steepest < 0.25  # offsets 1 apart, ramped over 8 pixels: at most ~0.2 a pixel
    del dense.reconstruct
    real = dense.reconstruct(np.stack([image, image]))  # 4-D of another size: each blended
    assert real.shape == (2, 3, *size)
    patch = image[:, :16, :16] if min(size) >= 16 else np.zeros((3, 16, 16))
    np.testing.assert_allclose(dense.reconstruct_image(patch),  # the training size: as it is
                               dense.reconstruct(patch[None].astype(np.float32))[0], atol=1e-6)


def test_photo_training_is_a_budget_of_steps_with_early_stopping():
    from aekit.cli.options import STEP_BUDGET
    from aekit.cli.photos import training_budget

    for patches, batch in ((4000, 64), (400, 64), (64_000, 64), (50, 16)):
        epochs, early = training_budget(patches, batch, None, None)
        steps = epochs * -(-patches // batch)
        assert early and (abs(steps - STEP_BUDGET) <= -(-patches // batch)
                          or epochs in (5, 2000)), (patches, batch, epochs)
    assert training_budget(64_000, 64, None, None)[0] == 5  # a large folder: few epochs
    assert training_budget(4000, 64, 7, None) == (7, False)  # --epochs: as given
    assert training_budget(4000, 64, None, False) == (64, False)  # 63 steps an epoch
