"""Variational autoencoders (issue 16): the KL term, the likelihoods, sampling and scoring."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

import aekit
from aekit.constraints import Variational, kl_gaussian
from aekit.nn import AutoencoderNet, DenseDecoder, DenseEncoder, VariationalCode
from aekit.training import ReconstructionObjective


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data / 16.0).astype(np.float32)


@pytest.fixture(scope="module")
def vae(digits):
    return aekit.Autoencoder(n_components=6, hidden_layer_sizes=(64,), loss="bce",
                             constraints=(Variational(),), max_iter=30, batch_size=64,
                             random_state=0).fit(digits[:1500])


def test_kl_matches_the_closed_form_worked_by_hand():
    mean = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    log_var = torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0]])
    # unit by unit: (m^2 + s^2 - 1 - log s^2) / 2
    expected = torch.tensor([[0.5, (2.0 - 1.0 - math.log(2.0)) / 2], [0.0, 2.0]])
    torch.testing.assert_close(kl_gaussian(mean, log_var), expected)
    penalty = Variational(beta=2.0).penalty(None, x=None, encode=None,
                                            extras={"mean": mean, "log_var": log_var})
    # summed over units, averaged over the 2 rows, times beta
    assert float(penalty) == pytest.approx(2.0 * (0.5 + 0.1534264 + 2.0) / 2, rel=1e-6)


def test_zero_variance_and_beta_zero_is_the_plain_autoencoder():
    torch.manual_seed(0)
    k, d = 3, 10
    encoder = DenseEncoder(d, (16,), 2 * k, "relu", "linear")
    decoder = DenseDecoder(k, (16,), d, "relu", "linear")
    vae = AutoencoderNet(encoder, decoder, VariationalCode())
    last = [m for m in encoder.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():  # log-variance output -30: exp(-15) ~ 3e-7, the code is the mean
        last.weight[k:] = 0.0
        last.bias[k:] = -30.0
    plain_encoder = DenseEncoder(d, (16,), k, "relu", "linear")
    plain_encoder.load_state_dict({name: (w[:k] if w.shape[0] == 2 * k else w)
                                   for name, w in encoder.state_dict().items()})
    plain = AutoencoderNet(plain_encoder, decoder)
    x = torch.randn(32, d)
    vae.train()
    plain.train()
    loss_vae = ReconstructionObjective("mse", [Variational(beta=0.0)]).forward_and_loss(
        vae, x, None)
    loss_plain = ReconstructionObjective("mse", []).forward_and_loss(plain, x, None)
    torch.testing.assert_close(loss_vae, loss_plain, rtol=1e-5, atol=1e-5)


def test_elbo_is_a_bound_that_importance_sampling_tightens(vae, digits):
    X = digits[1500:1700]
    elbo = vae.elbo(X, random_state=0)
    assert elbo.shape == (200,) and elbo.dtype == np.float64
    assert (elbo <= 0).all()  # a Bernoulli likelihood of values in [0, 1]
    # K = 1 equals the ELBO in expectation: the means over 40 seeds agree
    one = np.mean([vae.log_likelihood(X, n_samples=1, random_state=s).mean()
                   for s in range(40)])
    elbo_mean = np.mean([vae.elbo(X, random_state=s).mean() for s in range(40)])
    assert abs(one - elbo_mean) < 0.01 * abs(elbo_mean)
    # and grows with K (draws are shared by the rows, so average over seeds)
    k10 = np.mean([vae.log_likelihood(X, n_samples=10, random_state=s).mean() for s in range(8)])
    k100 = np.mean([vae.log_likelihood(X, n_samples=100, random_state=s).mean()
                    for s in range(3)])
    assert one < k10 < k100
    # a row's value does not depend on the rows scored with it
    assert vae.elbo(X[7:8], random_state=3)[0] == pytest.approx(vae.elbo(X, random_state=3)[7])


def test_files_are_refused_with_what_to_do(vae, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 64), np.float32))
    with pytest.raises(TypeError, match="load the file first"):
        vae.elbo(tmp_path / "x.npy")


def test_sampling_is_reproducible_and_in_data_units(vae):
    a, b = vae.sample(5, random_state=1), vae.sample(5, random_state=1)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, vae.sample(5, random_state=2))
    assert a.shape == (5, 64) and a.min() >= 0 and a.max() <= 1


def test_sample_codes_centre_on_transform_and_interpolate_ends_at_the_rows(vae, digits):
    X = digits[:3]
    codes = vae.sample_codes(X, n_samples=4000, random_state=0)
    assert codes.shape == (4000, 3, 6)
    np.testing.assert_allclose(codes.mean(axis=0), vae.transform(X), atol=0.05)
    assert vae.sample_codes(X).shape == (3, 6)
    path = vae.interpolate(X[0], X[1], n_steps=5)
    assert path.shape == (5, 64)
    np.testing.assert_allclose(path[0], vae.reconstruct(X[:1])[0], atol=1e-5)
    np.testing.assert_allclose(path[-1], vae.reconstruct(X[1:2])[0], atol=1e-5)


def test_kl_per_unit_flags_units_the_prior_swallowed(digits):
    # 20 code units for 64 pixels: some units collapse onto the prior, others carry the digit
    model = aekit.Autoencoder(n_components=20, hidden_layer_sizes=(64,), loss="bce",
                              constraints=(Variational(),), max_iter=60, batch_size=64,
                              random_state=0).fit(digits)
    kl = model.kl_per_unit(digits)
    assert kl.shape == (20,) and (kl >= 0).all()
    assert (kl < 0.01).any() and (kl > 0.1).any()


def test_mse_likelihood_is_a_density_in_the_data_units(digits):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 8)) @ rng.normal(size=(8, 8))
    params = dict(n_components=3, hidden_layer_sizes=(16,), scaling="standard",
                  constraints=(Variational(),), max_iter=5, random_state=0)
    small = aekit.Autoencoder(**params).fit(X)
    large = aekit.Autoencoder(**params).fit(10 * X)  # the same network sees the same inputs
    shift = small.elbo(X, random_state=0) - large.elbo(10 * X, random_state=0)
    np.testing.assert_allclose(shift, 8 * math.log(10), rtol=1e-4)


def test_images_come_back_as_images(digits):
    images = digits.reshape(-1, 1, 8, 8)
    conv = aekit.ConvAutoencoder(n_components=4, loss="bce", constraints=(Variational(),),
                                 max_iter=2, random_state=0).fit(images)
    assert conv.sample(3, random_state=0).shape == (3, 1, 8, 8)
    assert conv.interpolate(images[0], images[1], n_steps=4).shape == (4, 1, 8, 8)
    assert (conv.elbo(images[:10], random_state=0) <= 0).all()


def test_plain_models_have_no_variational_methods(digits):
    plain = aekit.Autoencoder(n_components=4, max_iter=2, random_state=0).fit(digits)
    assert not hasattr(plain, "elbo") and not hasattr(plain, "sample")
    with pytest.raises(AttributeError, match=r"constraints=\(aekit.Variational\(\),\)"):
        plain.log_likelihood(digits)


@pytest.mark.parametrize("other, message", [(aekit.TopK(2), "Only one constraint may shape"),
                                            (aekit.KLSparsity(), "different code activations")])
def test_meaningless_combinations_are_refused(digits, other, message):
    model = aekit.Autoencoder(n_components=4, constraints=(Variational(), other), max_iter=1)
    with pytest.raises(ValueError, match=message):
        model.fit(digits)


def test_composes_with_noise_and_survives_a_model_file(digits, tmp_path):
    model = aekit.Autoencoder(n_components=4, loss="bce", max_iter=3, random_state=0,
                              constraints=(aekit.GaussianNoise(0.1), Variational(0.5))).fit(digits)
    again = aekit.Autoencoder(n_components=4, loss="bce", max_iter=3, random_state=0,
                              constraints=(aekit.GaussianNoise(0.1), Variational(0.5))).fit(digits)
    np.testing.assert_array_equal(model.transform(digits), again.transform(digits))  # seeded
    model.save(tmp_path / "vae.aekit")
    loaded = aekit.load(tmp_path / "vae.aekit")
    np.testing.assert_array_equal(loaded.transform(digits), model.transform(digits))
    np.testing.assert_array_equal(loaded.elbo(digits, random_state=0),
                                  model.elbo(digits, random_state=0))


def test_detector_scores_by_elbo_and_likelihood():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 6)) @ rng.normal(size=(6, 12))
    X[:20] += rng.normal(0, 3, size=(20, 12))
    y = np.r_[np.ones(20), np.zeros(980)]
    for score in ("elbo", "log_likelihood"):
        det = aekit.OutlierDetector(anomaly_score=score, random_state=0).fit(X)
        assert any(isinstance(c, Variational) for c in det.estimators_[0].constraints)
        s = -det.score_samples(X)
        assert roc_auc_score(y, s) > 0.95
        assert -det.score_samples(X[3:4])[0] == pytest.approx(s[3])
    with pytest.raises(ValueError, match="needs a variational autoencoder"):
        aekit.OutlierDetector(aekit.Autoencoder(), anomaly_score="elbo").fit(X)


def test_cli_variational(tmp_path, digits, capsys):
    import pandas as pd

    from aekit.cli import main

    data = tmp_path / "d.csv"
    pd.DataFrame(digits[:400]).add_prefix("p").to_csv(data, index=False)
    model = tmp_path / "m.aekit"
    assert main(["fit", str(data), "-o", str(model), "--variational", "--beta", "0.5",
                 "--epochs", "3", "--quiet"]) == 0
    det = aekit.load(model)
    assert det.anomaly_score_ == "elbo"
    assert Variational(0.5) in det.estimators_[0].constraints
    report = tmp_path / "r.html"
    assert main(["report", str(model), str(data), "-o", str(report), "--quiet"]) == 0
    page = report.read_text()
    assert "Variational code" in page and "KL, nats" in page
    assert "a Gaussian of variance 0.5 per entry in the model's scaled space (fixed)" in page
    assert main(["fit", str(data), "-o", str(model), "--beta", "2"]) == 2
    assert main(["fit", str(data), "-o", str(model), "--variational", "--sparsity", "topk"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "--variational too" in err[-2] and "cannot shape it" in err[-1]


def test_cli_variational_images_learn_the_decoder_variance(tmp_path, digits):
    from PIL import Image

    from aekit.cli import main

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, image in enumerate(digits[:40]):
        Image.fromarray((image.reshape(8, 8) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    model = tmp_path / "m.aekit"
    assert main(["fit", str(folder), "-o", str(model), "--variational", "--epochs", "3",
                 "--quiet"]) == 0
    member = aekit.load(model).estimators_[0]
    assert Variational(variance="learned") in member.constraints
    assert 0 < member.output_variance_ != 0.5  # learned (it starts as the first batch's error)
    report = tmp_path / "r.html"
    assert main(["report", str(model), str(folder), "-o", str(report), "--quiet"]) == 0
    assert "(learned in training)" in report.read_text()


def test_composes_with_tied_weights_greedy_pretraining_streaming_checkpoints_and_sequences(
        digits, tmp_path):
    params = dict(n_components=4, hidden_layer_sizes=(32,), loss="bce", max_iter=3,
                  random_state=0, constraints=(Variational(),))
    tied = aekit.Autoencoder(tied_weights=True, **params).fit(digits)
    last = tied.module_.encoder.linears()[-1]  # 32 -> 8 (4 means, 4 log-variances)
    first = tied.module_.decoder.linears()[0]  # 4 -> 32: the means' rows, transposed
    assert tuple(last.weight.shape) == (8, 32) and tuple(first.weight.shape) == (32, 4)
    assert first.weight.data_ptr() == last.weight.data_ptr()  # shared storage, not a copy
    assert (tied.elbo(digits[:20], random_state=0) <= 0).all()
    greedy = aekit.Autoencoder(pretraining="greedy", **params).fit(digits)
    assert (greedy.elbo(digits[:20], random_state=0) <= 0).all()
    in_memory = aekit.Autoencoder(**params).fit(digits)
    np.save(tmp_path / "digits.npy", digits)
    streamed = aekit.Autoencoder(**params).fit(tmp_path / "digits.npy")  # read in chunks
    np.testing.assert_allclose(streamed.transform(digits), in_memory.transform(digits),
                               rtol=1e-4, atol=1e-5)
    halfway = aekit.Autoencoder(**{**params, "max_iter": 2},
                                checkpoint_dir=tmp_path / "ck").fit(digits)
    resumed = aekit.Autoencoder(**params, checkpoint_dir=tmp_path / "ck", resume=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        resumed.fit(digits)  # continues from the checkpoint of epoch 2
    assert halfway.n_iter_ == 2 and resumed.n_iter_ == 3
    np.testing.assert_allclose(resumed.transform(digits), in_memory.transform(digits),
                               rtol=1e-4, atol=1e-5)
    rng = np.random.default_rng(0)
    waves = np.stack([np.sin(np.linspace(0, 6, 64) + p) for p in rng.uniform(0, 6, 200)])
    seq = aekit.SequenceAutoencoder(4, constraints=(Variational(),), max_iter=2,
                                    random_state=0).fit(waves.astype(np.float32))
    assert seq.sample(2, random_state=0).shape == (2, 64)
    assert np.isfinite(seq.elbo(waves[:5], random_state=0)).all()


@pytest.mark.parametrize("loss, variance", [("mse", 0.5), ("mae", 0.5), ("mse", 0.2),
                                            ("mse", "learned")])
def test_likelihood_per_row_is_the_stated_density(loss, variance):
    """mse: a Gaussian of variance 1/2 per scaled feature (or the variance given or learned);
    mae: a Laplace of scale 1; both with the scaler's log-Jacobian, checked against scipy's
    densities."""
    from scipy import stats

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 5)) * [1, 2, 3, 4, 5]
    model = aekit.Autoencoder(n_components=2, hidden_layer_sizes=(8,), loss=loss,
                              scaling="standard", constraints=(Variational(variance=variance),),
                              max_iter=3, random_state=0).fit(X)
    x = model._network_rows(X[:4])
    x_hat = model.module_.eval()(x)[0].detach()
    scale = model.scaler_.factor
    v = model.output_variance_
    assert v == 0.5 if variance == 0.5 else 0.2 if variance == 0.2 else 0.05 < v < 1.5
    density = (stats.norm(x_hat.double().numpy(), math.sqrt(v)) if loss == "mse"
               else stats.laplace(x_hat.double().numpy(), 1.0))
    expected = density.logpdf(x.double().numpy()).sum(1) - np.log(scale).sum()
    got = model._log_p_x_given_z(x_hat[None], x)[0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_a_stated_variance_weighs_the_reconstruction_term():
    """With variance v the training loss is ||x - x_hat||^2 / (2 v) + (d/2) log(2 v) + KL: the
    Gaussian's -log p(x|z) with the constant (d/2) log(pi) of the v = 1/2 loss left out."""
    torch.manual_seed(0)
    net = AutoencoderNet(DenseEncoder(6, (), 4), DenseDecoder(2, (), 6), VariationalCode())
    x = torch.rand(5, 6)
    gen = torch.Generator().manual_seed(1)
    halves = ReconstructionObjective("mse", [Variational(variance=0.5)])
    stated = ReconstructionObjective("mse", [Variational(variance=0.2)])
    net.bottleneck.generator = gen
    base = halves.forward_and_loss(net, x, None).detach()
    gen.manual_seed(1)
    net.bottleneck.generator = gen
    got = stated.forward_and_loss(net, x, None).detach()
    gen.manual_seed(1)
    with torch.no_grad():
        z, extras = net.bottleneck(net.encoder(x))
        sse = (net.decode(z) - x).pow(2).sum(1).mean()
        kl = kl_gaussian(extras["mean"], extras["log_var"]).sum(1).mean()
    assert base.item() == pytest.approx((sse + kl).item(), rel=1e-5)
    assert got.item() == pytest.approx((sse / 0.4 + 3 * math.log(0.4) + kl).item(), rel=1e-5)


def test_a_learned_variance_is_the_training_error_and_survives_a_model_file(digits, tmp_path):
    model = aekit.Autoencoder(n_components=6, hidden_layer_sizes=(64,), max_iter=40,
                              constraints=(Variational(variance="learned"),), batch_size=64,
                              random_state=0).fit(digits)
    net = model.module_.train()  # codes drawn from q(z|x), as in training
    with torch.no_grad():
        x = torch.from_numpy(digits)
        error = float((net(x)[0] - x).pow(2).mean())
    net.eval()
    assert model.output_variance_ == pytest.approx(error, rel=0.25)
    assert model.output_variance_ < 0.1  # grey levels in [0, 1]: far below the fixed 1/2
    model.save(tmp_path / "vae.aekit")
    loaded = aekit.load(tmp_path / "vae.aekit")
    assert loaded.output_variance_ == model.output_variance_
    np.testing.assert_array_equal(loaded.elbo(digits[:50], random_state=0),
                                  model.elbo(digits[:50], random_state=0))


@pytest.mark.parametrize("loss", ["bce", "mae"])
def test_a_decoder_variance_needs_squared_error(digits, loss):
    model = aekit.Autoencoder(n_components=4, loss=loss, max_iter=1,
                              constraints=(Variational(variance="learned"),))
    with pytest.raises(ValueError, match="needs loss='mse'"):
        model.fit(digits)
    with pytest.raises(ValueError, match="needs loss='mse'"):
        model.check_params()
    with pytest.raises(ValueError, match="variance"):
        aekit.Autoencoder(constraints=(Variational(variance=0.0),)).fit(digits)


def test_the_detector_learns_the_variance_of_images_not_of_scaled_tables(digits):
    rng = np.random.default_rng(0)
    images = np.clip(rng.normal(0.5, 0.2, size=(300, 256)), 0, 1).astype(np.float32)
    table = rng.normal(size=(300, 8))
    for X, expected in ((images, "learned"), (table, 0.5)):
        det = aekit.OutlierDetector(anomaly_score="elbo", random_state=0).fit(X)
        (variational,) = [c for c in det.estimators_[0].constraints_
                          if isinstance(c, Variational)]
        assert variational.variance == expected
