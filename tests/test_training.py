import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from aekit import Autoencoder, MaskingNoise
from aekit.nn import AutoencoderNet, DenseDecoder, DenseEncoder
from aekit.training import (
    NonFiniteLossError,
    ReconstructionObjective,
    TensorBatches,
    TrainingConfig,
    train,
    validation_score,
)


def _module(n=6, k=2):
    net = AutoencoderNet(DenseEncoder(n, [4], k), DenseDecoder(k, [4], n))
    net.reset_parameters(torch.Generator().manual_seed(0))
    return net


def _data(n=60, d=6, seed=0):
    return torch.from_numpy(np.random.RandomState(seed).rand(n, d).astype(np.float32))


def test_tensor_batches_cover_every_row_once_per_epoch_with_a_short_last_batch():
    data = torch.arange(10, dtype=torch.float32).unsqueeze(1)
    batches = list(TensorBatches(data, 4).epoch(torch.Generator().manual_seed(0)))
    assert [b.shape[0] for b in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches).squeeze(1).tolist()) == list(range(10))


def test_fewer_samples_than_the_batch_size_trains_in_one_batch():
    model = Autoencoder(n_components=1, batch_size=256, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(np.random.RandomState(0).rand(5, 3))
    assert model.n_iter_ == 3 and len(model.loss_curve_) == 3


def test_training_lowers_the_loss():
    module, data = _module(), _data()
    result = train(module, ReconstructionObjective("mse"), TensorBatches(data, 16),
                   TrainingConfig(max_iter=30, n_iter_no_change=30),
                   generator=torch.Generator().manual_seed(0))
    assert result.loss_curve[-1] < 0.5 * result.loss_curve[0]


def test_early_stopping_restores_the_best_weights():
    module, data = _module(), _data()
    val = TensorBatches(_data(20, seed=1), 16)
    result = train(module, ReconstructionObjective("mse"), TensorBatches(data, 16),
                   TrainingConfig(max_iter=40, early_stopping=True, n_iter_no_change=3,
                                  learning_rate_init=0.05),
                   validation_data=val, generator=torch.Generator().manual_seed(0))
    best = max(result.validation_scores)
    assert result.best_validation_score == pytest.approx(best)
    assert validation_score(module, val, "mse") == pytest.approx(best, rel=1e-5)
    assert result.validation_scores[-1] < best  # it did move past the best epoch


def test_convergence_warning_when_max_iter_is_reached():
    with pytest.warns(ConvergenceWarning, match=r"maximum iterations \(2\) reached"):
        Autoencoder(n_components=1, max_iter=2, random_state=0).fit(_data().numpy())


def test_stops_when_the_loss_stops_improving():
    model = Autoencoder(n_components=2, max_iter=500, n_iter_no_change=3, tol=0.5,
                        random_state=0).fit(_data().numpy())
    assert model.n_iter_ < 500


def test_non_finite_loss_names_the_epoch_and_the_fix():
    X = np.random.RandomState(0).rand(40, 4) * 1e18
    model = Autoencoder(n_components=2, scaling="none", learning_rate_init=10.0, max_iter=5,
                        random_state=0)
    match = r"non-finite at epoch \d+ \(loss=(nan|inf)\)\. Lower learning_rate_init \(now 10"
    with pytest.raises(NonFiniteLossError, match=match):
        model.fit(X)


def test_fit_leaves_global_rngs_untouched():
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    Autoencoder(n_components=2, max_iter=2, constraints=(MaskingNoise(0.2),),
                random_state=0).fit(_data().numpy())
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state[1])


class _InterruptAt:
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_ctrl_c_stops_cleanly_and_keeps_the_model():
    module = _module()
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        result = train(module, ReconstructionObjective("mse"), TensorBatches(_data(), 16),
                       TrainingConfig(max_iter=50), generator=torch.Generator().manual_seed(0),
                       callbacks=[_InterruptAt(3)])
    assert result.interrupted and result.n_iter == 3
    assert not module.training  # left in eval mode, ready for inference


def test_callbacks_can_stop_training():
    class StopAt2:
        def on_epoch_end(self, epoch, logs):
            assert "loss" in logs
            return epoch == 2

    result = train(_module(), ReconstructionObjective("mse"), TensorBatches(_data(), 16),
                   TrainingConfig(max_iter=50), generator=torch.Generator().manual_seed(0),
                   callbacks=[StopAt2()])
    assert result.n_iter == 2


def test_bce_training_loss_is_taken_on_the_logits_and_equals_bce_of_the_sigmoid_output():
    """The fused binary_cross_entropy_with_logits path gives the sigmoid + BCE loss (and its
    gradients), and is used only where the output IS the sigmoid's (a crop after it falls
    back to the plain formula, with the same value)."""
    from aekit.nn import ConvDecoder, ConvEncoder

    x = _data()
    net = AutoencoderNet(DenseEncoder(6, [4], 2),
                         DenseDecoder(2, [4], 6, output_activation="sigmoid"))
    net.reset_parameters(torch.Generator().manual_seed(0))
    objective = ReconstructionObjective("bce")
    fused = objective.forward_and_loss(net, x, None)
    fused.backward()
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    plain = objective.batch_loss(net(x)[0], x)
    plain.backward()
    assert fused.item() == pytest.approx(plain.item(), rel=1e-6)
    for g, p in zip(grads, net.parameters()):
        torch.testing.assert_close(g, p.grad, rtol=1e-5, atol=1e-7)
    # saturated outputs: the clamped sigmoid formula is capped, the logits are exact
    with torch.no_grad():
        net.decoder.layers[-2].bias.fill_(40.0)
    zeros = torch.zeros(4, 6)
    assert objective.forward_and_loss(net, zeros, None).item() > 6 * 30  # about 6 * 40 nats
    # odd image sizes: the conv decoder crops after the sigmoid, so the output is not the
    # sigmoid's tensor and the plain formula is used; the value is the same either way
    images = torch.rand(3, 1, 7, 7)
    conv = AutoencoderNet(ConvEncoder((1, 7, 7), [4], 3),
                          ConvDecoder(3, (1, 7, 7), [4], output_activation="sigmoid"))
    conv.reset_parameters(torch.Generator().manual_seed(0))
    assert objective.forward_and_loss(conv, images, None).item() == pytest.approx(
        objective.batch_loss(conv(images)[0], images).item(), rel=1e-5)


def test_absolute_error_loss_trains_and_is_refused_for_tables_with_text():
    import pandas as pd

    from aekit.training import elementwise_loss

    x_hat, x = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.0, 1.0]])
    torch.testing.assert_close(elementwise_loss(x_hat, x, "mae"), torch.tensor([[0.5, 2.0]]))
    torch.testing.assert_close(ReconstructionObjective("mae").batch_loss(x_hat, x),
                               torch.tensor(2.5))
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(200, 2)) @ rng.normal(size=(2, 6))).astype(np.float32)
    X[:5] += 8.0  # a few gross outliers in the training rows
    model = Autoencoder(n_components=2, loss="mae", max_iter=30, batch_size=32,
                        random_state=0).fit(X)
    assert model.loss_curve_[-1] < 0.6 * model.loss_curve_[0]  # the outliers keep ~1.2
    frame = pd.DataFrame({"a": X[:, 0], "kind": ["x", "y"] * 100})
    with pytest.raises(ValueError, match="loss='mae' applies to numeric arrays"):
        Autoencoder(n_components=1, loss="mae", max_iter=1).fit(frame)


def test_float64_errors_are_float32_sums_with_a_float64_retry_where_they_overflow():
    from aekit.training import per_sample_error_float64

    rng = torch.Generator().manual_seed(0)
    x, x_hat = torch.rand(6, 50, generator=rng), torch.rand(6, 50, generator=rng)
    x_hat[2, 3] = 1e25  # its square overflows float32, not float64
    exact = ((x_hat.double() - x.double()) ** 2).mean(dim=1)
    for loss in ("mse", "mae"):
        got = per_sample_error_float64(x_hat, x, loss)
        want = exact if loss == "mse" else (x_hat.double() - x.double()).abs().mean(dim=1)
        assert got.dtype == torch.float64 and torch.isfinite(got).all()
        torch.testing.assert_close(got, want, rtol=1e-6, atol=0)
    assert per_sample_error_float64(x_hat, x, "mse")[2] == exact[2]  # recomputed in float64
