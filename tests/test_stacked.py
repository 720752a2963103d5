"""Stacked autoencoders: greedy layer-wise pretraining, and tied weights."""

import copy

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks
from torch import nn

import aekit.estimators.base as base
import aekit.estimators.pretraining as pretraining
from aekit import Autoencoder, ConvAutoencoder, GaussianNoise, KLSparsity, TopK, load
from aekit.datasets import load_digits
from aekit.nn import (
    AutoencoderNet,
    DenseDecoder,
    DenseEncoder,
    TiedDenseDecoder,
    TiedLinear,
    TopKCode,
)


@pytest.fixture(scope="module")
def digits():
    return load_digits()[:300]


class TrainSpy:
    """Wraps ``train`` where it is looked up, recording what each call trains and on what."""

    def __init__(self, monkeypatch, module):
        self.calls = []
        self._real = module.train
        monkeypatch.setattr(module, "train", self)

    def __call__(self, net, objective, data, config, **kwargs):
        before = copy.deepcopy(net)
        result = self._real(net, objective, data, config, **kwargs)
        unchanged = [
            all(torch.equal(a, b) for a, b in zip(c["net"].encoder.parameters(),
                                                  c["after"].encoder.parameters()))
            for c in self.calls
        ]
        self.calls.append({
            "lower_levels_unchanged": unchanged,
            "validation": kwargs.get("validation_data"),
            "loss_curve": result.loss_curve,
            "data": data.data.clone(),
            "objective": objective,
            "before": before,
            "after": copy.deepcopy(net),
            "net": net,
        })
        return result


@parametrize_with_checks(
    [Autoencoder(hidden_layer_sizes=(8, 4), tied_weights=True, pretraining="greedy", max_iter=3,
                 random_state=0)]
)
def test_stacked_tied_autoencoder_is_a_scikit_learn_estimator(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------- tied weights
def test_tied_decoder_weight_is_the_encoder_weight_transposed_in_the_same_storage():
    enc = DenseEncoder(6, [4], 3)
    dec = TiedDenseDecoder(enc, "relu", "sigmoid")
    for source, tied in zip(enc.linears(), reversed(dec.linears())):
        assert tied.weight.shape == source.weight.t().shape
        assert tied.weight.data_ptr() == source.weight.data_ptr()
        assert torch.equal(tied.weight, source.weight.t())
    assert dec.sizes == (3, 4, 6)
    assert "tied" in repr(dec)


def test_a_gradient_step_on_tied_weights_changes_both_views():
    enc = DenseEncoder(6, [], 3)
    net = AutoencoderNet(enc, TiedDenseDecoder(enc))
    source, tied = enc.linears()[0], net.decoder.linears()[0]
    before = source.weight.detach().clone()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x = torch.randn(8, 6)
    ((net(x)[0] - x) ** 2).sum().backward()
    opt.step()
    assert not torch.equal(source.weight.detach(), before)
    assert torch.equal(tied.weight.detach(), source.weight.detach().t())


def test_tied_gradient_is_the_sum_of_the_encoder_and_decoder_gradients():
    """Reference: an untied copy whose decoder starts at W.T; tied grad = dW_enc + dW_dec.T."""
    torch.manual_seed(0)
    enc = DenseEncoder(5, [], 2, code_activation="tanh")
    tied = AutoencoderNet(enc, TiedDenseDecoder(enc))
    untied = AutoencoderNet(copy.deepcopy(enc), DenseDecoder(2, [], 5))
    with torch.no_grad():
        untied.decoder.linears()[0].weight.copy_(enc.linears()[0].weight.t())
        untied.decoder.linears()[0].bias.copy_(tied.decoder.linears()[0].bias)
    x = torch.randn(7, 5)
    for net in (tied, untied):
        ((net(x)[0] - x) ** 2).sum().backward()
    expected = untied.encoder.linears()[0].weight.grad + untied.decoder.linears()[0].weight.grad.t()
    torch.testing.assert_close(enc.linears()[0].weight.grad, expected)


def test_tied_layer_is_not_a_second_copy_of_the_weight():
    enc = DenseEncoder(6, [4], 3)
    net = AutoencoderNet(enc, TiedDenseDecoder(enc))
    names = set(net.state_dict())
    assert names == {"encoder.layers.0.weight", "encoder.layers.0.bias", "encoder.layers.2.weight",
                     "encoder.layers.2.bias", "decoder.layers.0.bias", "decoder.layers.2.bias"}
    assert sum(p.numel() for p in net.parameters()) == 6 * 4 + 4 + 4 * 3 + 3 + 4 + 6


def test_tied_linear_bias_reset_is_seeded():
    a, b = TiedLinear(nn.Linear(4, 3)), TiedLinear(nn.Linear(4, 3))
    a.reset_parameters(torch.Generator().manual_seed(1))
    b.reset_parameters(torch.Generator().manual_seed(1))
    assert torch.equal(a.bias, b.bias) and float(a.bias.detach().abs().max()) <= 1 / np.sqrt(3)


def test_autoencoder_with_tied_weights_fits_saves_and_loads(digits, tmp_path):
    model = Autoencoder(4, hidden_layer_sizes=(16,), tied_weights=True, max_iter=5,
                        random_state=0).fit(digits)
    assert isinstance(model.module_.decoder, TiedDenseDecoder)
    untied = Autoencoder(4, hidden_layer_sizes=(16,), max_iter=1, random_state=0).fit(digits)
    n_tied = sum(p.numel() for p in model.module_.parameters())
    n_untied = sum(p.numel() for p in untied.module_.parameters())
    assert n_tied == n_untied - (64 * 16 + 16 * 4)
    model.save(tmp_path / "tied.aekit")
    loaded = load(tmp_path / "tied.aekit")
    np.testing.assert_array_equal(loaded.reconstruct(digits), model.reconstruct(digits))
    enc_w = loaded.module_.encoder.linears()[0].weight
    assert loaded.module_.decoder.linears()[-1].weight.data_ptr() == enc_w.data_ptr()


def test_tied_decoder_needs_one_activation_per_hidden_layer():
    with pytest.raises(ValueError, match="3 activations for 1 hidden layers"):
        TiedDenseDecoder(DenseEncoder(6, [4], 3), ["relu", "relu", "relu"])


# ---------------------------------------------------------------------------- greedy pretraining
def test_pretraining_none_trains_end_to_end_only(digits, monkeypatch):
    spy = TrainSpy(monkeypatch, pretraining)
    model = Autoencoder(4, hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(digits)
    assert spy.calls == [] and model.pretraining_loss_curves_ is None


@pytest.mark.parametrize("tied", [False, True])
def test_greedy_level_k_is_trained_on_the_codes_of_the_frozen_level_below(digits, monkeypatch,
                                                                          tied):
    spy = TrainSpy(monkeypatch, pretraining)
    model = Autoencoder(4, hidden_layer_sizes=(32, 16), tied_weights=tied, pretraining="greedy",
                        max_iter=3, random_state=0).fit(digits)
    assert [tuple(c["data"].shape) for c in spy.calls] == [(300, 64), (300, 32), (300, 16)]
    # level 0 sees the (scaled) data itself; the digits are in [0, 1] and stay as they are
    np.testing.assert_array_equal(spy.calls[0]["data"].numpy(), digits)
    for k in (1, 2):
        below, data_below = spy.calls[k - 1], spy.calls[k - 1]["data"]
        with torch.no_grad():
            trained_codes = below["after"].encode(data_below)
            untrained_codes = below["before"].encode(data_below)
        torch.testing.assert_close(spy.calls[k]["data"], trained_codes, rtol=0, atol=1e-6)
        assert not torch.allclose(spy.calls[k]["data"], untrained_codes, atol=1e-3)
    # every level moved its own weights and left the levels below as their training left them
    for call in spy.calls:
        assert not torch.equal(call["before"].encoder[0].weight, call["after"].encoder[0].weight)
        assert all(call["lower_levels_unchanged"])
    assert [len(c) for c in model.pretraining_loss_curves_] == [3, 3, 3]
    assert model.pretraining_loss_curves_[1] == spy.calls[1]["loss_curve"]


def test_greedy_levels_share_the_full_models_parameters(digits, monkeypatch):
    spy = TrainSpy(monkeypatch, pretraining)
    model = Autoencoder(4, hidden_layer_sizes=(16,), pretraining="greedy", max_iter=2,
                        random_state=0).fit(digits)
    full = {id(p) for p in model.module_.parameters()}
    for call in spy.calls:
        assert {id(p) for p in call["net"].parameters()} <= full


def test_greedy_conv_stack_trains_each_convolution_on_the_feature_maps_below(digits,
                                                                             monkeypatch):
    spy = TrainSpy(monkeypatch, pretraining)
    images = digits.reshape(-1, 1, 8, 8)
    model = ConvAutoencoder(6, conv_channels=(4, 8), pretraining="greedy", max_iter=2,
                            random_state=0).fit(images)
    shapes = [tuple(c["data"].shape[1:]) for c in spy.calls]
    assert shapes == [(1, 8, 8), (4, 4, 4), (8, 2, 2)]  # image, level-1 maps, level-2 maps
    for k in (1, 2):
        with torch.no_grad():
            codes = spy.calls[k - 1]["after"].encode(spy.calls[k - 1]["data"])
        torch.testing.assert_close(spy.calls[k]["data"], codes, rtol=0, atol=1e-6)
    assert len(model.pretraining_loss_curves_) == 3


def test_noise_corrupts_every_level_and_penalties_act_at_the_code_level(digits, monkeypatch):
    spy = TrainSpy(monkeypatch, pretraining)
    Autoencoder(4, hidden_layer_sizes=(16,), constraints=(GaussianNoise(0.1), KLSparsity()),
                pretraining="greedy", loss="bce", max_iter=2, random_state=0).fit(digits)
    objectives = [c["objective"] for c in spy.calls]
    assert [[type(c).__name__ for c in o.corrupters] for o in objectives] == [["GaussianNoise"]] * 2
    assert [[type(c).__name__ for c in o.penalizers] for o in objectives] == [[], ["KLSparsity"]]
    assert [o.loss for o in objectives] == ["bce", "mse"]  # hidden codes are not in [0, 1] data


def test_fine_tuning_lowers_the_loss_of_the_pretrained_stack(digits, monkeypatch):
    spy = TrainSpy(monkeypatch, base)  # the end-to-end call in BaseAutoencoder.fit
    model = Autoencoder(4, hidden_layer_sizes=(32, 16), pretraining="greedy", max_iter=20,
                        random_state=0).fit(digits)
    (call,) = spy.calls
    X = torch.from_numpy(digits)
    with torch.no_grad():
        pretrained = float(((call["before"](X)[0] - X) ** 2).mean())
    finetuned = float(model.reconstruction_error(digits).mean())
    assert finetuned < 0.8 * pretrained
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_greedy_pretraining_curves_survive_save_and_load(digits, tmp_path):
    model = Autoencoder(4, hidden_layer_sizes=(16,), pretraining="greedy", max_iter=2,
                        random_state=0).fit(digits)
    model.save(tmp_path / "stacked.aekit")
    loaded = load(tmp_path / "stacked.aekit")
    assert loaded.pretraining_loss_curves_ == model.pretraining_loss_curves_
    assert loaded.get_params()["pretraining"] == "greedy"


def test_greedy_with_early_stopping_validates_every_level(digits, monkeypatch):
    spy = TrainSpy(monkeypatch, pretraining)
    model = Autoencoder(4, hidden_layer_sizes=(16,), pretraining="greedy", early_stopping=True,
                        n_iter_no_change=2, max_iter=30, random_state=0).fit(digits)
    assert len(model.pretraining_loss_curves_) == 2
    n_val = round(0.1 * 300)
    assert [c["validation"].n_samples for c in spy.calls] == [n_val, n_val]
    assert [c["data"].shape[0] for c in spy.calls] == [300 - n_val] * 2
    assert spy.calls[1]["validation"].data.shape == (n_val, 16)  # codes of the held-out rows
    assert model.best_validation_score_ is not None


def test_unknown_pretraining_is_a_clear_error(digits):
    with pytest.raises(ValueError, match="'pretraining' parameter of Autoencoder must be"):
        Autoencoder(pretraining="layerwise").fit(digits)


def test_stack_blocks_rejects_modules_without_levels():
    with pytest.raises(TypeError, match="needs an encoder and a decoder made of levels"):
        pretraining.stack_blocks(nn.Conv2d(1, 1, 3))


def test_mismatched_encoder_and_decoder_depths_are_rejected():
    net = AutoencoderNet(DenseEncoder(6, [4], 3), DenseDecoder(3, [], 6))
    with pytest.raises(ValueError, match="encoder has 2 levels and the decoder 1"):
        pretraining.shallow_autoencoders(net)


def test_bottleneck_constraints_act_in_the_top_level_only(digits, monkeypatch):
    spy = TrainSpy(monkeypatch, pretraining)
    model = Autoencoder(6, hidden_layer_sizes=(16,), constraints=(TopK(2),), pretraining="greedy",
                        max_iter=2, random_state=0).fit(digits)
    assert [type(c["net"].bottleneck).__name__ for c in spy.calls] == ["Bottleneck", "TopKCode"]
    assert spy.calls[1]["net"].bottleneck is model.module_.bottleneck
    assert isinstance(model.module_.bottleneck, TopKCode)
    assert ((model.transform(digits) != 0).sum(axis=1) <= 2).all()


def test_greedy_pretraining_under_torchrun_matches_one_process(tmp_path):
    import subprocess
    import sys
    import textwrap

    # float32: the comparison's 2e-5 holds for one precision on both sides, not for bf16 (whose
    # rounding differs between a 2 x 16-row and a 32-row matrix product)
    params = dict(n_components=3, hidden_layer_sizes=(16,), pretraining="greedy", batch_size=32,
                  max_iter=4, n_iter_no_change=50, random_state=3, device="cpu",
                  precision="float32")
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        import numpy as np
        import aekit.training.data as data
        from aekit import Autoencoder

        seen = []
        real_epoch = data.TensorBatches.epoch

        def counting_epoch(self, generator, shuffle=True):
            for batch in real_epoch(self, generator, shuffle):
                seen.append(batch.shape[0])
                yield batch

        data.TensorBatches.epoch = counting_epoch
        X = np.random.RandomState(0).rand(256, 10).astype(np.float32)
        Autoencoder(**{params!r}).fit(X).save(sys.argv[1])
        print("rows", sum(seen), flush=True)
    """))
    out = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
         str(script), str(tmp_path / "ddp.aekit")],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    # each process trains on half of every batch: (2 levels + fine-tuning) x 4 epochs x 128 rows
    assert out.stdout.count("rows 1536") == 2, out.stdout
    X = np.random.RandomState(0).rand(256, 10).astype(np.float32)
    single = Autoencoder(**params).fit(X)
    ddp = load(tmp_path / "ddp.aekit")
    np.testing.assert_allclose(np.concatenate(ddp.pretraining_loss_curves_),
                               np.concatenate(single.pretraining_loss_curves_), rtol=1e-4)
    for (name, a), b in zip(single.module_.state_dict().items(),
                            ddp.module_.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=2e-5, err_msg=name)
