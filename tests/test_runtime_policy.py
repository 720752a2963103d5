"""Threads and precision: decided from the hardware and the work, restored after each call.

Some of these tests run only on CPUs with native bf16 (AVX512-BF16/AMX), where the bf16 path is
real; on other CPUs ``precision="bfloat16"`` is forced to check that the path runs.
"""

import numpy as np
import pytest
import torch
from torch import nn

from aekit import Autoencoder, ConvAutoencoder, SaltAndPepperNoise
from aekit.training import runtime

FAST_BF16 = runtime.cpu_has_fast_bf16()


def record_threads(model):
    """Threads seen by the encoder's first layer in each forward pass."""
    seen = []
    first = next(m for m in model.module_.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))
    first.register_forward_hook(lambda *a: seen.append(torch.get_num_threads()))
    return seen


def test_small_work_trains_on_one_thread_and_restores_the_process_setting():
    X = np.random.RandomState(0).rand(200, 8)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model = Autoencoder(2, max_iter=1, random_state=0).fit(X)
        seen = record_threads(model)
        model.partial_fit(X)
        model.transform(X)
        assert set(seen) == {1}  # a step of this model is far below THREADS_MIN_FLOPS
        assert torch.get_num_threads() == 2  # the process's setting is back
    finally:
        torch.set_num_threads(before)


def test_large_work_uses_the_threads_torch_has_and_n_threads_overrides():
    X = np.random.RandomState(0).rand(300, 784).astype(np.float32)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model = Autoencoder(32, hidden_layer_sizes=(256,), max_iter=1, random_state=0,
                            precision="float32").fit(X)
        assert model._workload.flops(model.batch_size) >= runtime.THREADS_MIN_FLOPS
        seen = record_threads(model)
        model.partial_fit(X)
        assert set(seen) == {2}
        seen.clear()
        model.set_params(n_threads=1).partial_fit(X)
        assert set(seen) == {1} and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("n_threads, match", [(0, "n_threads"), (-2, "n_threads"),
                                              (1.5, "n_threads")])
def test_bad_n_threads_is_refused_in_scikit_learns_words(n_threads, match):
    with pytest.raises(ValueError, match=f"The '{match}' parameter of Autoencoder must be"):
        Autoencoder(n_threads=n_threads).fit(np.random.rand(10, 3))


def test_auto_precision_is_float32_for_small_models_on_every_cpu():
    model = Autoencoder(4, max_iter=1, random_state=0).fit(np.random.rand(100, 16))
    assert model.precision_ == "float32"


@pytest.mark.skipif(not FAST_BF16, reason="the CPU has no native bf16 (AVX512-BF16/AMX)")
def test_auto_precision_is_bf16_for_large_models_where_the_cpu_has_native_bf16():
    X = np.random.RandomState(0).rand(512, 784).astype(np.float32)
    # 2.1e8 operations a step, 60 steps: 1.3e10 in all
    model = Autoencoder(32, hidden_layer_sizes=(256,), max_iter=30, random_state=0).fit(X)
    assert model.precision_ == "bfloat16"
    # the same steps in a short fit (2 steps) do not repay bf16's kernels: float32
    short = Autoencoder(32, hidden_layer_sizes=(256,), max_iter=1, random_state=0).fit(X)
    assert short.precision_ == "float32"
    assert runtime.choose_precision("auto", torch.device("cpu"), model._workload, 256,
                                    n_steps=None) == torch.bfloat16  # steps unknown: by step
    # a network with a one-pixel feature map stays in float32, whatever the work
    conv = ConvAutoencoder(max_iter=1, random_state=0).fit(np.random.rand(64, 4))
    assert conv._workload.smallest_feature_map == 1 and conv.precision_ == "float32"
    batch = int(2 * runtime.BF16_MIN_FLOPS / conv._workload.flops_per_sample) + 1
    assert runtime.choose_precision("auto", torch.device("cpu"), conv._workload, batch,
                                    n_steps=10**6) is None


def test_auto_precision_depends_on_the_work_not_on_a_timing():
    X = np.random.RandomState(0).rand(512, 784).astype(np.float32)
    a = Autoencoder(32, hidden_layer_sizes=(256,), max_iter=2, random_state=0).fit(X)
    b = Autoencoder(32, hidden_layer_sizes=(256,), max_iter=2, random_state=0).fit(X)
    assert a.precision_ == b.precision_
    for wa, wb in zip(a.module_.state_dict().values(), b.module_.state_dict().values()):
        assert torch.equal(wa, wb)


def test_bf16_training_runs_under_autocast_and_learns():
    """The bf16 path: real on CPUs with native bf16, forced (and emulated, slowly) elsewhere.
    Convolutions run under autocast; dense layers keep float32 tensors and oneDNN multiplies
    in bf16 (``training_precision``), and the process's setting is restored after."""
    X = np.random.RandomState(0).rand(256, 64).astype(np.float32)
    dense = Autoencoder(8, max_iter=1, random_state=0, precision="bfloat16", batch_size=64)
    conv = ConvAutoencoder(image_shape=(1, 8, 8), n_components=4, max_iter=1, random_state=0,
                           precision="bfloat16", batch_size=64)
    matmul = torch.backends.mkldnn.matmul
    before = matmul.fp32_precision
    for model, layer in ((dense, nn.Linear), (conv, nn.Conv2d)):
        model.fit(X)
        seen = []
        first = next(m for m in model.module_.modules() if isinstance(m, layer))
        first.register_forward_hook(
            lambda mod, inp, out, seen=seen: seen.append((out.dtype, matmul.fp32_precision)))
        for _ in range(15):
            model.partial_fit(X)
        assert model.precision_ == "bfloat16"
        expected = ((torch.float32, "bf16") if layer is nn.Linear
                    else (torch.bfloat16, before))
        assert set(seen) == {expected}  # training steps ran in bf16 ...
        assert model.transform(X).dtype == np.float32
        assert seen[-1] == (torch.float32, before)  # ... and inference in float32
        assert np.isfinite(model.loss_curve_).all()
        assert model.loss_curve_[-1] < model.loss_curve_[0]
    assert matmul.fp32_precision == before


def test_salt_and_pepper_noise_uses_zero_and_one_on_unit_data():
    """On data in [0, 1] a black border pixel gets salt (1), as in a corrupted image; on data
    of unknown range the batch's extremes per feature are used (a constant column stays)."""
    x = torch.zeros(4000, 2)
    x[:, 1] = torch.linspace(0.2, 0.6, 4000)
    noise = SaltAndPepperNoise(0.5)
    noise.reset()
    noise.set_input_range((0.0, 1.0))
    out = noise.corrupt(x, torch.Generator().manual_seed(0))
    assert set(out[:, 0].unique().tolist()) == {0.0, 1.0}
    assert float(out[:, 1].max()) == 1.0 and float(out[:, 1].min()) == 0.0
    noise.set_input_range(None)
    out = noise.corrupt(x, torch.Generator().manual_seed(0))
    assert set(out[:, 0].unique().tolist()) == {0.0}
    assert float(out[:, 1].max()) == pytest.approx(0.6)
    assert float(out[:, 1].min()) == pytest.approx(0.2)
