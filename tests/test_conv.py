"""Convolutional modules and the ConvAutoencoder estimator."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from aekit import ConvAutoencoder, GaussianNoise, KLSparsity, load
from aekit.datasets import load_digits
from aekit.nn import AutoencoderNet, ConvDecoder, ConvEncoder
from aekit.nn.conv import level_shapes, match_size

FAST = dict(max_iter=3, random_state=0, conv_channels=(4, 8))


@pytest.fixture(scope="module")
def images():
    """300 digits as (n, 1, 8, 8) images in [0, 1]."""
    return load_digits()[:300].reshape(-1, 1, 8, 8)


# ---------------------------------------------------------------------------- nn modules
@pytest.mark.parametrize(
    "shape", [(1, 28, 28), (1, 8, 8), (3, 32, 32), (1, 7, 9), (2, 5, 3), (1, 1, 1), (3, 1, 6)]
)
@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4, 5])
def test_decoder_output_has_the_exact_input_shape(shape, kernel_size):
    enc = ConvEncoder(shape, (4, 8), 5, kernel_size=kernel_size)
    dec = ConvDecoder(5, shape, (4, 8), kernel_size=kernel_size)
    x = torch.rand(3, *shape)
    with torch.no_grad():
        code = enc(x)
        assert code.shape == (3, 5)
        assert dec(code).shape == x.shape
        # the transposed convolutions land on the input's size by themselves, with no crop
        maps = dec.head(code)
        for block in dec.deconvs:
            maps = block(maps)
    assert maps.shape == x.shape


def test_level_shapes_halve_height_and_width_rounding_up():
    assert level_shapes((1, 7, 9), (4, 8, 16), 3) == [(1, 7, 9), (4, 4, 5), (8, 2, 3), (16, 1, 2)]


def test_match_size_crops_and_zero_pads():
    x = torch.ones(2, 3, 5, 4)
    out = match_size(x, 4, 6)
    assert out.shape == (2, 3, 4, 6)
    assert float(out[..., :4].min()) == 1.0 and float(out[..., 4:].abs().max()) == 0.0
    assert match_size(x, 5, 4) is x


def test_conv_modules_have_one_block_per_level_and_describe_themselves():
    enc = ConvEncoder((3, 32, 32), (16, 32), 10)
    dec = ConvDecoder(10, (3, 32, 32), (16, 32), output_activation="sigmoid")
    assert len(enc.blocks()) == len(dec.blocks()) == 3
    assert enc.feature_shape == dec.feature_shape == (32, 8, 8)
    assert "sample_shape=(3, 32, 32), channels=(16, 32), kernel_size=3, code_size=10" in repr(enc)
    with torch.no_grad():
        out = dec(torch.randn(2, 10))
    assert float(out.min()) > 0 and float(out.max()) < 1


def test_conv_reset_parameters_is_seeded_and_leaves_global_rng_alone():
    def net():
        return AutoencoderNet(ConvEncoder((1, 7, 9), (4,), 3), ConvDecoder(3, (1, 7, 9), (4,)))

    a, b = net(), net()
    state = torch.get_rng_state()
    a.reset_parameters(torch.Generator().manual_seed(5))
    b.reset_parameters(torch.Generator().manual_seed(5))
    assert torch.equal(torch.get_rng_state(), state)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    b.reset_parameters(torch.Generator().manual_seed(6))
    assert not torch.equal(a.encoder.convs[0][0].weight, b.encoder.convs[0][0].weight)


def test_bad_sample_shape_is_named():
    with pytest.raises(ValueError, match=r"sample shape must be \(channels, length\), \(channels"):
        ConvEncoder((1, 2, 3, 4, 5), (4,), 3)  # 4 spatial dimensions
    with pytest.raises(ValueError, match="positive sizes"):
        ConvEncoder((1, 0, 3), (4,), 3)


# ---------------------------------------------------------------------------- the estimator
@parametrize_with_checks(
    [
        ConvAutoencoder(max_iter=5, random_state=0),
        ConvAutoencoder(constraints=(GaussianNoise(0.1), KLSparsity(target=0.05, weight=1.0)),
                        pretraining="greedy", max_iter=3, random_state=0),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_four_d_in_four_d_out(images):
    model = ConvAutoencoder(5, **FAST).fit(images)
    assert model.image_shape_ == (1, 8, 8) and model.input_ndim_ == 4
    assert model.n_features_in_ == 64
    codes = model.transform(images)
    assert codes.shape == (300, 5) and codes.dtype == np.float32
    assert model.reconstruct(images).shape == images.shape
    assert model.inverse_transform(codes).shape == images.shape
    np.testing.assert_allclose(model.inverse_transform(codes), model.reconstruct(images),
                               atol=1e-5)
    assert model.score_samples(images).shape == (300,)


def test_two_d_in_two_d_out_with_the_same_model(images):
    flat = images.reshape(300, -1)
    model = ConvAutoencoder(5, **FAST).fit(flat)
    assert model.image_shape_ == (1, 8, 8) and model.input_ndim_ == 2  # 64 = 8 * 8: inferred
    assert model.reconstruct(flat).shape == flat.shape
    assert model.inverse_transform(model.transform(flat)).shape == flat.shape
    # the same rows as images give the same codes and the same reconstruction
    np.testing.assert_array_equal(model.transform(images), model.transform(flat))
    np.testing.assert_array_equal(model.reconstruct(images).reshape(300, -1),
                                  model.reconstruct(flat))
    # a model fitted on 2-D or 4-D data is the same model
    np.testing.assert_array_equal(
        ConvAutoencoder(5, **FAST).fit(images).transform(images), model.transform(images)
    )


def test_colour_images_with_odd_sizes_round_trip_their_shape():
    X = np.random.RandomState(0).rand(20, 3, 7, 9).astype(np.float32)
    model = ConvAutoencoder(4, **FAST).fit(X)
    assert model.reconstruct(X).shape == (20, 3, 7, 9)
    flat = X.reshape(20, -1)
    model2 = ConvAutoencoder(4, image_shape=(3, 7, 9), **FAST).fit(flat)
    assert model2.reconstruct(flat).shape == (20, 189)
    np.testing.assert_array_equal(model2.transform(flat), model.transform(X))


def test_image_shape_defaults_to_a_square_or_a_row_of_pixels():
    rng = np.random.RandomState(0)
    assert ConvAutoencoder(**FAST).fit(rng.rand(10, 49)).image_shape_ == (1, 7, 7)
    assert ConvAutoencoder(**FAST).fit(rng.rand(10, 6)).image_shape_ == (1, 1, 6)
    assert ConvAutoencoder(image_shape=(2, 3), **FAST).fit(rng.rand(10, 6)).image_shape_ == (
        1, 2, 3)


def test_image_shape_must_match_the_feature_count():
    X = np.random.RandomState(0).rand(10, 10)
    with pytest.raises(ValueError, match=r"image_shape=\(1, 28, 28\) holds 784 values, but X "
                                         r"has 10 features"):
        ConvAutoencoder(image_shape=(1, 28, 28), **FAST).fit(X)
    with pytest.raises(ValueError, match="image_shape must be"):
        ConvAutoencoder(image_shape=(1, 0, 10), **FAST).fit(X)


def test_images_of_another_shape_are_rejected(images):
    with pytest.raises(ValueError, match=r"X holds images of shape \(1, 8, 8\), but "
                                         r"ConvAutoencoder expects \(1, 4, 16\)"):
        ConvAutoencoder(image_shape=(1, 4, 16), **FAST).fit(images)
    model = ConvAutoencoder(5, **FAST).fit(images)
    with pytest.raises(ValueError, match=r"images of shape \(1, 4, 16\), but ConvAutoencoder "
                                         r"expects \(1, 8, 8\)"):
        model.transform(images.reshape(-1, 1, 4, 16))
    with pytest.raises(ValueError, match="X has 63 features, but ConvAutoencoder is expecting 64"):
        model.transform(images.reshape(300, -1)[:, :63])


def test_three_d_input_says_how_to_add_the_channel_axis(images):
    with pytest.raises(ValueError, match=r"got an array of shape \(300, 8, 8\).*X\[:, None\]"):
        ConvAutoencoder(**FAST).fit(images[:, 0])


def test_scaling_is_pooled_per_channel():
    rng = np.random.RandomState(0)
    X = np.stack([rng.rand(30, 5, 5) * 255, rng.rand(30, 5, 5) * 10 - 5], axis=1)
    model = ConvAutoencoder(3, **FAST).fit(X)
    assert model.scaling_ == "standard"
    offset, factor = model.scaler_.offset.reshape(2, 25), model.scaler_.factor.reshape(2, 25)
    np.testing.assert_allclose(offset, np.repeat([[X[:, 0].mean()], [X[:, 1].mean()]], 25, 1))
    np.testing.assert_allclose(factor, np.repeat([[X[:, 0].std()], [X[:, 1].std()]], 25, 1))
    minmax = ConvAutoencoder(3, scaling="minmax", **FAST).fit(X)
    assert minmax.scaler_.offset[0] == X[:, 0].min() and minmax.scaler_.offset[-1] == X[:, 1].min()
    assert model.reconstruct(X).shape == X.shape
    assert ConvAutoencoder(3, **FAST).fit(rng.rand(10, 1, 4, 4)).scaling_ == "none"


def test_inference_does_not_depend_on_the_batch_a_row_comes_with(images):
    model = ConvAutoencoder(5, max_iter=2, random_state=0).fit(images)
    full = model.transform(images)
    one_by_one = np.concatenate([model.transform(images[i : i + 1]) for i in range(0, 300, 37)])
    np.testing.assert_array_equal(one_by_one, full[::37])
    order = np.random.RandomState(0).permutation(300)
    np.testing.assert_array_equal(model.score_samples(images[order]),
                                  model.score_samples(images)[order])


def test_cpu_model_runs_channels_last(images):
    model = ConvAutoencoder(5, device="cpu", **FAST).fit(images)
    weight = model.module_.encoder.convs[1][0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert not weight.is_contiguous()


def test_constraints_compose_with_convolutions(images):
    model = ConvAutoencoder(12, constraints=(GaussianNoise(0.2), KLSparsity(0.05, weight=1.0)),
                            **FAST).fit(images)
    codes = model.transform(images)
    assert model.code_activation_ == "sigmoid"
    assert codes.min() > 0 and codes.max() < 1


def test_save_and_load_round_trip(images, tmp_path):
    model = ConvAutoencoder(5, pretraining="greedy", **FAST).fit(images)
    model.save(tmp_path / "conv.aekit")
    loaded = load(tmp_path / "conv.aekit")
    assert type(loaded) is ConvAutoencoder
    assert loaded.image_shape_ == (1, 8, 8) and loaded.input_ndim_ == 4
    assert loaded.conv_channels_ == (4, 8)
    assert loaded.pretraining_loss_curves_ == model.pretraining_loss_curves_
    np.testing.assert_array_equal(loaded.transform(images), model.transform(images))
    assert loaded.inverse_transform(loaded.transform(images)).shape == images.shape


def test_fits_in_a_pipeline_on_flattened_images():
    X, y = load_digits(return_y=True)
    model = ConvAutoencoder(16, image_shape=(1, 8, 8), conv_channels=(8, 16), batch_size=32,
                            max_iter=20, random_state=0)
    pipe = make_pipeline(model, StandardScaler(), LogisticRegression(max_iter=1000))
    pipe.fit(X[:400], y[:400])
    assert pipe.score(X[400:600], y[400:600]) > 0.5  # chance: 0.1


def test_conv_channels_must_be_positive_ints(images):
    with pytest.raises(ValueError, match="conv_channels must be a tuple of positive ints"):
        ConvAutoencoder(conv_channels=(4, 0), max_iter=1).fit(images)


@pytest.mark.slow
def test_conv_beats_pca_on_fashion_mnist(shared_datasets):
    from sklearn.decomposition import PCA

    from aekit.datasets import load_mnist_like

    X, _ = load_mnist_like(shared_datasets / "fashion-mnist", flatten=False)
    train, test = X[:3000], X[8000:9000]
    pca = PCA(16, random_state=0).fit(train.reshape(3000, -1))
    pca_mse = np.mean((pca.inverse_transform(pca.transform(test.reshape(1000, -1)))
                       - test.reshape(1000, -1)) ** 2)
    model = ConvAutoencoder(16, max_iter=15, random_state=0).fit(train)
    conv_mse = np.mean((model.reconstruct(test) - test) ** 2)
    assert conv_mse < 0.9 * pca_mse
