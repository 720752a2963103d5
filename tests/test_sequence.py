"""SequenceAutoencoder: 1-D convolutions over (channels, length) samples."""

import numpy as np
import pytest

import aekit
from aekit import SequenceAutoencoder


def windows(n=256, channels=2, length=32, seed=0):
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    t = np.arange(length)[None, None, :]
    X = np.sin(2 * np.pi * t / 16 + phase + np.arange(channels)[None, :, None])
    return (X + 0.05 * rng.normal(size=X.shape)).astype(np.float32)


def test_three_d_in_three_d_out_and_it_learns():
    X = windows()
    model = SequenceAutoencoder(4, max_iter=30, random_state=0).fit(X)
    assert model.sample_shape_ == (2, 32)
    recon = model.reconstruct(X)
    assert recon.shape == X.shape
    assert model.inverse_transform(model.transform(X)).shape == X.shape
    # Far better than predicting each position's mean.
    baseline = np.mean((X - X.mean(axis=0)) ** 2)
    assert np.mean((recon - X) ** 2) < 0.3 * baseline


def test_flat_rows_with_sample_shape_and_channel_scaling():
    X = windows(channels=3, length=20)
    flat = X.reshape(len(X), -1)
    model = SequenceAutoencoder(4, sample_shape=(3, 20), max_iter=2, scaling="standard",
                                random_state=0).fit(flat)
    assert model.reconstruct(flat).shape == flat.shape
    # One mean and scale per channel, repeated over its 20 positions.
    offset = model.scaler_.offset.reshape(3, 20)
    assert np.allclose(offset, offset[:, :1]) and not np.allclose(offset[0], offset[1])
    with pytest.raises(ValueError, match="holds 63 values, but X has 60"):
        SequenceAutoencoder(sample_shape=(3, 21)).fit(flat)


def test_save_and_load(tmp_path):
    X = windows()
    model = SequenceAutoencoder(4, max_iter=2, random_state=0).fit(X)
    model.save(tmp_path / "seq.aekit")
    loaded = aekit.load(tmp_path / "seq.aekit")
    np.testing.assert_allclose(loaded.transform(X), model.transform(X), rtol=1e-5, atol=1e-6)


def test_wrong_shape_is_refused():
    model = SequenceAutoencoder(4, max_iter=1, random_state=0).fit(windows())
    with pytest.raises(ValueError):
        model.transform(windows(length=30))
