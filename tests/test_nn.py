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


def test_logits_are_the_input_of_the_final_sigmoid_and_only_where_there_is_one():
    from aekit.nn import ConvDecoder, ConvEncoder, TiedDenseDecoder

    net = _net()
    net.reset_parameters(torch.Generator().manual_seed(0))
    x = torch.rand(5, 10)
    with torch.no_grad():
        x_hat, code = net(x)
        logits, same_code, extras = net(x, return_extras=True, logits=True)
    assert net.has_logits
    torch.testing.assert_close(torch.sigmoid(logits), x_hat)
    torch.testing.assert_close(same_code, code)
    assert float(logits.min()) < 0 or float(logits.max()) > 1  # not squashed
    tied = AutoencoderNet(net.encoder, TiedDenseDecoder(net.encoder, output_activation="sigmoid"))
    with torch.no_grad():
        torch.testing.assert_close(torch.sigmoid(tied(x, logits=True)[0]), tied(x)[0])
    linear = AutoencoderNet(DenseEncoder(10, [8], 3), DenseDecoder(3, [8], 10))
    conv = AutoencoderNet(ConvEncoder((1, 8, 8), [4], 3),
                          ConvDecoder(3, (1, 8, 8), [4], output_activation="sigmoid"))
    assert not linear.has_logits and not conv.has_logits

    class Cropped(AutoencoderNet):  # a decode of its own: the logits would bypass it
        def decode(self, code):
            return super().decode(code)[:, :5]

    assert not Cropped(net.encoder, net.decoder).has_logits
    with pytest.raises(ValueError, match="ends in a sigmoid"):
        linear(x, logits=True)


def test_cross_entropy_training_skips_the_final_sigmoid_of_a_dense_decoder():
    from aekit.training import ReconstructionObjective

    net = _net()
    calls = []
    net.decoder.layers[-1].register_forward_hook(lambda *args: calls.append(1))
    loss = ReconstructionObjective("bce").forward_and_loss(net, torch.rand(4, 10), None)
    assert calls == [] and loss.item() > 0  # the loss was taken on the logits
    net(torch.rand(4, 10))
    assert calls == [1]
