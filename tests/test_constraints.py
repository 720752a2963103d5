import pytest
import torch
from sklearn.base import clone

from aekit.constraints import (
    Contractive,
    GaussianNoise,
    KLSparsity,
    L1Activity,
    MaskingNoise,
    SaltAndPepperNoise,
    TopK,
    get_constraint,
    resolve_constraints,
)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_gaussian_noise_adds_noise_of_the_given_std():
    x = torch.zeros(20000, 5)
    noisy = GaussianNoise(0.3).corrupt(x, _gen())
    assert abs(float(noisy.std()) - 0.3) < 0.01
    assert abs(float(noisy.mean())) < 0.01


def test_gaussian_noise_clips_to_the_declared_input_range_by_default():
    x = torch.rand(2000, 30)
    (noise,) = resolve_constraints((GaussianNoise(0.5),))
    unbounded = noise.corrupt(x, _gen())  # no range declared: nothing to clip to
    assert float(unbounded.min()) < -0.5 and float(unbounded.max()) > 1.5
    noise.set_input_range((0.0, 1.0))  # what the estimators declare for data in [0, 1]
    clipped = noise.corrupt(x, _gen())
    assert float(clipped.min()) == 0.0 and float(clipped.max()) == 1.0
    # the same draw, clipped: the corruption of a noisy image, not a different noise
    torch.testing.assert_close(clipped, unbounded.clamp(0, 1))
    assert float((clipped == 0).float().mean()) > 0.1


def test_gaussian_noise_clip_none_and_fixed_bounds():
    x = torch.rand(1000, 10)
    never = GaussianNoise(0.5, clip=None)
    never.set_input_range((0.0, 1.0))
    assert float(never.corrupt(x, _gen()).min()) < -0.5
    fixed = GaussianNoise(0.5, clip=(-0.2, 0.7))
    out = fixed.corrupt(x, _gen())
    assert float(out.min()) == pytest.approx(-0.2) and float(out.max()) == pytest.approx(0.7)
    with pytest.raises(ValueError, match=r"'clip' parameter of GaussianNoise.*low < high"):
        GaussianNoise(clip=(1.0, 0.0)).validate()
    with pytest.raises(ValueError, match=r"'clip' parameter"):
        GaussianNoise(clip="yes").validate()


def test_gaussian_noise_clip_survives_a_json_round_trip_as_an_equal_hashable_constraint():
    import json

    original = GaussianNoise(0.3, clip=(0.0, 1.0))
    loaded = get_constraint(json.loads(json.dumps(original.to_config())))
    assert loaded.clip == [0.0, 1.0] and loaded == original
    assert hash(loaded) == hash(original)


def test_masking_noise_zeroes_the_given_fraction():
    x = torch.ones(200, 100)
    noisy = MaskingNoise(0.3).corrupt(x, _gen())
    assert abs(float((noisy == 0).float().mean()) - 0.3) < 0.01
    assert set(noisy.unique().tolist()) == {0.0, 1.0}


def test_salt_and_pepper_sets_entries_to_the_feature_min_or_max():
    x = torch.rand(500, 40) * 0.5 + 0.25  # values in [0.25, 0.75]
    x[0] = 0.0
    x[1] = 1.0
    noisy = SaltAndPepperNoise(0.2).corrupt(x, _gen())
    changed = noisy != x
    assert abs(float(changed.float().mean()) - 0.2) < 0.02
    values = noisy[changed]
    assert torch.all((values == 0.0) | (values == 1.0))
    assert abs(float((values == 1.0).float().mean()) - 0.5) < 0.05


def test_salt_and_pepper_uses_fixed_low_and_high_when_given():
    x = torch.full((100, 10), 0.5)
    noisy = SaltAndPepperNoise(0.5, low=-1.0, high=2.0).corrupt(x, _gen())
    assert set(noisy.unique().tolist()) <= {-1.0, 0.5, 2.0}


def test_noise_is_reproducible_from_the_generator():
    x = torch.rand(10, 10)
    a = SaltAndPepperNoise(0.3).corrupt(x, _gen(1))
    b = SaltAndPepperNoise(0.3).corrupt(x, _gen(1))
    assert torch.equal(a, b)


def test_l1_activity_is_weight_times_batch_mean_of_abs_sum():
    code = torch.tensor([[1.0, -2.0], [0.5, 0.5]])
    value = L1Activity(0.1).penalty(code, x=code, encode=lambda t: t)
    assert float(value) == pytest.approx(0.1 * (3.0 + 1.0) / 2)


def test_contractive_penalty_of_a_linear_encoder_is_the_frobenius_norm_of_its_weight():
    lin = torch.nn.Linear(4, 3)
    x = torch.rand(6, 4)
    value = Contractive(0.5).penalty(lin(x), x=x, encode=lin)
    expected = 0.5 * float(lin.weight.detach().pow(2).sum())
    assert float(value.detach()) == pytest.approx(expected, rel=1e-5)
    value.backward()  # differentiable with respect to the weights
    assert lin.weight.grad is not None and float(lin.weight.grad.abs().sum()) > 0


def test_topk_provides_a_bottleneck_and_kl_requires_sigmoid_units():
    assert TopK(3).bottleneck().k == 3
    assert KLSparsity().code_activation == "sigmoid"
    assert GaussianNoise().code_activation is None


@pytest.mark.parametrize(
    "constraint, match",
    [
        (GaussianNoise(-0.1), r"'std' parameter of GaussianNoise must be a float in the range"),
        (MaskingNoise(1.5), r"'rate' parameter of MaskingNoise .* \[0.0, 1.0\]. Got 1.5"),
        (SaltAndPepperNoise(-0.2), r"'rate' parameter of SaltAndPepperNoise"),
        (SaltAndPepperNoise(0.1, low=1.0, high=0.0), "needs low <= high"),
        (KLSparsity(target=0.0), r"'target' parameter of KLSparsity .* \(0.0, 1.0\)"),
        (KLSparsity(target=1.0), r"'target' parameter of KLSparsity"),
        (KLSparsity(weight=-1), r"'weight' parameter of KLSparsity"),
        (TopK(0), r"'k' parameter of TopK must be an int in the range \[1, inf\)"),
        (L1Activity(float("nan")), r"'weight' parameter of L1Activity"),
    ],
)
def test_bad_constraint_parameters_are_named(constraint, match):
    with pytest.raises(ValueError, match=match):
        resolve_constraints((constraint,))


def test_wrong_parameter_type_is_a_type_error():
    message = r"'k' parameter of TopK must be an int in the range \[1, inf\). Got 2.5"
    with pytest.raises(TypeError, match=message):
        resolve_constraints((TopK(2.5),))


def test_constraints_resolve_from_names_and_configs():
    config = {"name": "kl_sparsity", "params": {"target": 0.1}}
    resolved = resolve_constraints(("gaussian_noise", config))
    assert resolved == (GaussianNoise(), KLSparsity(target=0.1))


def test_unknown_constraint_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="Unknown constraint 'sparsity'; use one of: contractive"):
        get_constraint("sparsity")
    with pytest.raises(ValueError, match=r"Unknown parameter\(s\) \['rho'\]"):
        get_constraint({"name": "kl_sparsity", "params": {"rho": 0.1}})
    with pytest.raises(TypeError, match="must be an aekit constraint object"):
        resolve_constraints((3.5,))


def test_resolving_copies_so_the_users_objects_are_not_mutated():
    kl = KLSparsity(0.05)
    (copy,) = resolve_constraints((kl,))
    assert copy is not kl and copy == kl
    copy.penalty(torch.rand(4, 3), x=torch.rand(4, 3), encode=lambda t: t)
    assert not hasattr(kl, "_running")


def test_constraints_clone_like_estimators():
    noise = SaltAndPepperNoise(0.2, low=0.0)
    cloned = clone(noise)
    assert cloned == noise and cloned is not noise
    assert repr(noise) == "SaltAndPepperNoise(rate=0.2, low=0.0, high=None)"
    with pytest.raises(ValueError, match="Invalid parameter 'level' for SaltAndPepperNoise"):
        noise.set_params(level=3)
