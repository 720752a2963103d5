import pytest
import torch

from aekit.nn import AutoencoderNet, DenseDecoder, DenseEncoder, TopKCode, make_activation


def _net(code_layer=None):
    enc = DenseEncoder(10, [8, 6], 3, activation=["relu", "tanh"])
    dec = DenseDecoder(3, [6, 8], 10, activation=["tanh", "relu"], output_activation="sigmoid")
    return AutoencoderNet(enc, dec, code_layer)


def test_forward_returns_reconstruction_and_code_with_right_shapes():
    with torch.no_grad():
        x_hat, code = _net()(torch.rand(5, 10))
    assert x_hat.shape == (5, 10)
    assert code.shape == (5, 3)
    assert float(x_hat.min()) > 0 and float(x_hat.max()) < 1  # sigmoid output


def test_reset_parameters_is_seeded_by_the_generator_and_leaves_global_rng_alone():
    a, b = _net(), _net()
    state = torch.get_rng_state()
    a.reset_parameters(torch.Generator().manual_seed(3))
    b.reset_parameters(torch.Generator().manual_seed(3))
    assert torch.equal(torch.get_rng_state(), state)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    b.reset_parameters(torch.Generator().manual_seed(4))
    assert not torch.equal(a.encoder.linears()[0].weight, b.encoder.linears()[0].weight)


def test_one_hidden_layer_model_is_the_seeds_simple_autoencoder():
    enc = DenseEncoder(7, [], 3)
    dec = DenseDecoder(3, [], 7)
    assert [m.weight.shape for m in enc.linears()] == [(3, 7)]
    assert [m.weight.shape for m in dec.linears()] == [(7, 3)]
    assert "sizes=7-3" in repr(enc)


def test_activation_count_must_match_hidden_layers():
    with pytest.raises(ValueError, match="2 activations for 1 hidden layers"):
        DenseEncoder(5, [4], 2, activation=["relu", "tanh"])


def test_unknown_activation_is_named():
    with pytest.raises(ValueError, match="Unknown activation 'swishy'"):
        make_activation("swishy")


def test_topk_code_keeps_the_k_largest_units_per_sample():
    code = torch.tensor([[0.1, 0.9, 0.5, -1.0], [3.0, 2.0, 1.0, 0.0]])
    out, extras = TopKCode(2)(code)  # a bottleneck: (code, extras)
    assert extras == {}
    assert torch.equal(out, torch.tensor([[0.0, 0.9, 0.5, 0.0], [3.0, 2.0, 0.0, 0.0]]))
    assert "k=2" in repr(TopKCode(2))


def test_topk_code_layer_acts_inside_the_network():
    net = _net(TopKCode(1))
    code = net.encode(torch.rand(4, 10))
    assert ((code != 0).sum(dim=1) <= 1).all()
