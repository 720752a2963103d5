"""Reference answers: results that are known exactly, checked against aekit.

- the KL sparsity penalty equals the formula on numbers worked by hand;
- a linear autoencoder trained with squared error spans the PCA subspace;
- a denoising objective compares the reconstruction with the CLEAN input.
"""

import math
import warnings

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from torch import Tensor, nn

from aekit import Autoencoder
from aekit.constraints import GaussianNoise, KLSparsity, MaskingNoise, kl_bernoulli
from aekit.training import ReconstructionObjective

# ---------------------------------------------------------------------------------------------
# KL(rho || rho_hat) = rho log(rho / rho_hat) + (1 - rho) log((1 - rho) / (1 - rho_hat)),
# worked by hand for rho = 0.05 (the natural logs are written out to 6 decimals):
#
#   rho_hat = 0.1: 0.05 * log(0.05 / 0.1) + 0.95 * log(0.95 / 0.9)
#                = 0.05 * (-0.693147)     + 0.95 * 0.054067      = -0.034657 + 0.051364 = 0.016707
#   rho_hat = 0.5: 0.05 * log(0.05 / 0.5) + 0.95 * log(0.95 / 0.5)
#                = 0.05 * (-2.302585)     + 0.95 * 0.641854      = -0.115129 + 0.609761 = 0.494632
#   rho_hat = 0.2: 0.05 * log(0.25)       + 0.95 * log(1.1875)
#                = 0.05 * (-1.386294)     + 0.95 * 0.171850      = -0.069315 + 0.163258 = 0.093943
#   rho_hat = 0.3: 0.05 * log(1 / 6)      + 0.95 * log(0.95 / 0.7)
#                = 0.05 * (-1.791759)     + 0.95 * 0.305382      = -0.089588 + 0.290113 = 0.200525
#
# and its derivative dKL/drho_hat = -rho / rho_hat + (1 - rho) / (1 - rho_hat):
#
#   rho_hat = 0.2: -0.05 / 0.2 + 0.95 / 0.8 = -0.25     + 1.1875   = 0.9375
#   rho_hat = 0.3: -0.05 / 0.3 + 0.95 / 0.7 = -0.166667 + 1.357143 = 1.190476
#   rho_hat = 0.1: -0.05 / 0.1 + 0.95 / 0.9 = -0.5      + 1.055556 = 0.555556
# ---------------------------------------------------------------------------------------------
KL_AT_0_1 = 0.016707
KL_AT_0_5 = 0.494632
KL_AT_0_2 = 0.093943
KL_AT_0_3 = 0.200525
DKL_AT_0_2 = 0.9375
DKL_AT_0_3 = 1.190476
DKL_AT_0_1 = 0.555556

HAND_TOL = 2e-6  # the hand values are rounded to 6 decimals


class _Identity(nn.Module):
    """A network whose reconstruction and code both equal its input."""

    def encode(self, x: Tensor) -> Tensor:
        return x

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return x, x


def _no_encode(x: Tensor) -> Tensor:
    raise AssertionError("KLSparsity must not re-encode the input")


def test_kl_bernoulli_equals_the_formula_worked_by_hand():
    per_unit = kl_bernoulli(0.05, torch.tensor([0.1, 0.5], dtype=torch.float64))
    np.testing.assert_allclose(per_unit.numpy(), [KL_AT_0_1, KL_AT_0_5], atol=HAND_TOL)


def test_kl_bernoulli_is_zero_at_the_target_and_positive_elsewhere():
    rho_hat = torch.tensor([0.05, 0.01, 0.9], dtype=torch.float64)
    per_unit = kl_bernoulli(0.05, rho_hat)
    assert float(per_unit[0]) == pytest.approx(0.0, abs=1e-12)
    assert bool(torch.all(per_unit[1:] > 0))


def test_kl_sparsity_penalty_without_momentum_uses_the_batch_mean():
    # column means: (0.0 + 0.2) / 2 = 0.1 and (0.4 + 0.6) / 2 = 0.5
    code = torch.tensor([[0.0, 0.4], [0.2, 0.6]], dtype=torch.float64)
    kl = KLSparsity(target=0.05, weight=2.0, momentum=0.0)
    value = kl.penalty(code, x=code, encode=_no_encode)
    # 2.0 * (0.016707 + 0.494632) = 2.0 * 0.511339 = 1.022678
    assert float(value) == pytest.approx(1.022678, abs=2 * 2 * HAND_TOL)
    # a second batch with momentum=0 forgets the first one: means 0.2 and 0.3
    code2 = torch.tensor([[0.1, 0.3], [0.3, 0.3]], dtype=torch.float64)
    value2 = kl.penalty(code2, x=code2, encode=_no_encode)
    assert float(value2) == pytest.approx(2.0 * (KL_AT_0_2 + KL_AT_0_3), abs=4 * HAND_TOL)


def test_kl_sparsity_momentum_value_at_running_mean_gradient_through_batch():
    kl = KLSparsity(target=0.05, weight=3.0, momentum=0.5)
    kl.reset()
    first = torch.tensor([[0.0, 0.4], [0.2, 0.6]], dtype=torch.float64)  # means 0.1, 0.5
    value1 = kl.penalty(first, x=first, encode=_no_encode)
    # the first batch starts the running estimate: 3.0 * (0.016707 + 0.494632)
    assert float(value1) == pytest.approx(3.0 * (KL_AT_0_1 + KL_AT_0_5), abs=6 * HAND_TOL)

    second = torch.tensor([[0.2, 0.0], [0.4, 0.2]], dtype=torch.float64, requires_grad=True)
    # batch means 0.3 and 0.1; running = 0.5 * (0.1, 0.5) + 0.5 * (0.3, 0.1) = (0.2, 0.3)
    value2 = kl.penalty(second, x=second, encode=_no_encode)
    assert float(value2.detach()) == pytest.approx(3.0 * (KL_AT_0_2 + KL_AT_0_3), abs=6 * HAND_TOL)
    # a batch-only penalty would be 3.0 * (KL(0.3) + KL(0.1)), far from the value above
    assert abs(float(value2.detach()) - 3.0 * (KL_AT_0_3 + KL_AT_0_1)) > 0.1

    value2.backward()
    # d value / d code[i, j] = weight * dKL/drho_hat (at the running mean) * 1 / batch_size
    expected = 3.0 * torch.tensor([DKL_AT_0_2, DKL_AT_0_3], dtype=torch.float64) / 2
    np.testing.assert_allclose(second.grad.numpy(), expected.expand(2, 2).numpy(), atol=1e-5)
    # the gradient taken at the batch mean (0.3, 0.1) would differ
    at_batch = 3.0 * np.array([DKL_AT_0_3, DKL_AT_0_1]) / 2
    assert np.abs(second.grad.numpy()[0] - at_batch).max() > 0.3


def test_kl_sparsity_penalty_is_added_to_the_reconstruction_loss():
    x = torch.tensor([[0.0, 0.4], [0.2, 0.6]])
    objective = ReconstructionObjective("mse", (KLSparsity(target=0.05, weight=1.0, momentum=0),))
    loss = objective.forward_and_loss(_Identity(), x, generator=None)
    # the identity reconstructs x exactly, so the loss is the penalty: 0.016707 + 0.494632
    assert float(loss) == pytest.approx(KL_AT_0_1 + KL_AT_0_5, abs=1e-5)


# ---------------------------------------------------------------------------------------------
# A linear autoencoder with squared error learns the PCA subspace (Baldi & Hornik, 1989): the
# decoder's columns span the same k-dimensional subspace as PCA's first k components.
# ---------------------------------------------------------------------------------------------
def _low_rank_data(n_samples=600, n_features=10, rank=3, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(n_features, rank)))  # orthonormal columns
    scales = np.array([3.0, 2.0, 1.5])[:rank]  # well separated from the noise
    latent = rng.normal(size=(n_samples, rank)) * scales
    X = latent @ basis.T + noise * rng.normal(size=(n_samples, n_features)) + 0.1
    return X.astype(np.float32)


def test_linear_autoencoder_spans_the_pca_subspace():
    X = _low_rank_data()
    k = 3
    ae = Autoencoder(
        n_components=k,
        hidden_layer_sizes=(),
        activation="linear",
        output_activation="linear",
        scaling="none",
        max_iter=40,
        batch_size=64,
        learning_rate_init=1e-2,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed budget of epochs
        ae.fit(X)
    pca = PCA(n_components=k).fit(X)

    decoder_weight = ae.module_.decoder.linears()[0].weight.detach().double().numpy()  # (d, k)
    angles = subspace_angles(decoder_weight, pca.components_.T)
    assert np.degrees(angles.max()) < 1.0, np.degrees(angles)

    # its reconstruction error is close to PCA's with k components, far below PCA's with k - 1
    # (the encoder's rows converge more slowly in the low-variance noise directions)
    ae_mse = np.mean((ae.reconstruct(X) - X) ** 2)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(X)) - X) ** 2)
    smaller = PCA(n_components=k - 1).fit(X)
    smaller_mse = np.mean((smaller.inverse_transform(smaller.transform(X)) - X) ** 2)
    assert ae_mse <= 1.25 * pca_mse
    assert smaller_mse > 20 * pca_mse


# ---------------------------------------------------------------------------------------------
# Denoising: the loss compares the reconstruction of the corrupted input with the CLEAN input.
# With an identity network the reconstruction IS the corrupted input, so the loss is
# ||x - corrupt(x)||^2: zero if the objective compared with the noisy input (or did not
# corrupt at all), positive and equal to the hand value if it compares with the clean one.
# ---------------------------------------------------------------------------------------------
def test_denoising_loss_is_against_the_clean_input_worked_by_hand():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    # rate=1.0 masks every entry (uniform draws lie in [0, 1)), so the network sees zeros
    objective = ReconstructionObjective("mse", (MaskingNoise(rate=1.0),))
    loss = objective.forward_and_loss(_Identity(), x, torch.Generator().manual_seed(0))
    # per sample: (1^2 + 2^2) = 5 and (3^2 + 4^2) = 25; batch mean = 15
    assert float(loss) == pytest.approx(15.0)


def test_denoising_loss_equals_the_distance_between_clean_and_corrupted_input():
    x = torch.rand(64, 7, generator=torch.Generator().manual_seed(1))
    noise = GaussianNoise(std=0.3)
    objective = ReconstructionObjective("mse", (noise,))
    loss = objective.forward_and_loss(_Identity(), x, torch.Generator().manual_seed(5))
    corrupted = noise.corrupt(x, torch.Generator().manual_seed(5))  # the same draw
    expected = (corrupted - x).pow(2).sum(dim=1).mean()
    assert float(expected) > 0.5  # 7 features * 0.3^2 = 0.63 on average
    assert float(loss) == pytest.approx(float(expected), rel=1e-6)


def test_denoising_loss_with_bce_is_against_the_clean_input():
    x = torch.tensor([[0.2, 0.9], [0.6, 0.1]])
    objective = ReconstructionObjective("bce", (MaskingNoise(rate=1.0),))
    loss = objective.forward_and_loss(_Identity(), x, torch.Generator().manual_seed(0))
    # the reconstruction is 0 (clamped to 1e-7): per entry -x log(1e-7) - (1 - x) log(1 - 1e-7)
    eps = 1e-7
    per_entry = [-(v * math.log(eps) + (1 - v) * math.log(1 - eps)) for v in (0.2, 0.9, 0.6, 0.1)]
    expected = (per_entry[0] + per_entry[1] + per_entry[2] + per_entry[3]) / 2
    assert float(loss) == pytest.approx(expected, rel=1e-4)
