"""AWConv2d, MixBN and their fused kernels, tested against plain torch layers."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from model_zoo.aw import AWConv2d, LowRankAWConv2d, MixBN
from model_zoo.aw.functional import _AddScaled, _BlendBanks, _PerSampleAffine

pytestmark = pytest.mark.fast  # no data set: synthetic tensors (see conftest)


def _conv_with_distinct_banks(groups: int = 1, bias: bool = True) -> AWConv2d:
    torch.manual_seed(0)
    layer = AWConv2d.from_static(nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=groups, bias=bias))
    with torch.no_grad():  # make the adversarial bank differ from the clean one
        layer.weight.copy_(layer._stack(layer.weight_clean, torch.randn_like(layer.weight_clean)))
        if bias:
            layer.bias.copy_(layer._stack(layer.bias_clean, torch.randn_like(layer.bias_clean)))
    return layer


def _low_rank_conv_with_distinct_banks(bias: bool = True) -> LowRankAWConv2d:
    torch.manual_seed(0)
    layer = LowRankAWConv2d.from_static(nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=bias), rank_fraction=0.5)
    assert layer.rank == 3
    with torch.no_grad():
        layer.adversarial_mix.normal_()
        if bias:
            layer.bias.normal_()
    return layer


def _static_conv(layer: AWConv2d, weight: torch.Tensor, bias: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
    return F.conv2d(x, weight, bias, layer.stride, layer.padding, layer.dilation, layer.groups)


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("bias", [True, False])
def test_signal_zero_is_the_clean_bank_and_one_the_adversarial_bank(groups, bias):
    layer = _conv_with_distinct_banks(groups, bias)
    x = torch.randn(3, 4, 9, 9)
    clean = _static_conv(layer, layer.weight_clean, layer.bias_clean, x)
    adversarial = _static_conv(layer, layer.weight_adv, layer.bias_adv, x)
    assert not torch.allclose(clean, adversarial)
    torch.testing.assert_close(layer(x, torch.zeros(3, 6)), clean, rtol=0, atol=1e-5)
    torch.testing.assert_close(layer(x, torch.ones(3, 6)), adversarial, rtol=0, atol=1e-5)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("size", [9, 17])  # 5x5 and 9x9 outputs: the 1x1-conv path and the batched-matmul path
def test_low_rank_layer_selects_its_banks_too(bias, size):
    layer = _low_rank_conv_with_distinct_banks(bias)
    x = torch.randn(3, 4, size, size)
    clean = _static_conv(layer, layer.weight_clean, layer.bias_clean, x)
    adversarial = _static_conv(layer, layer.weight_adv, layer.bias_adv, x)
    assert not torch.allclose(clean, adversarial)
    torch.testing.assert_close(layer(x, torch.zeros(3, 6)), clean, rtol=0, atol=1e-5)
    torch.testing.assert_close(layer(x, torch.ones(3, 6)), adversarial, rtol=0, atol=1e-5)
    difference = (layer.weight_adv - layer.weight_clean).flatten(1)
    assert torch.linalg.matrix_rank(difference) == layer.rank


@pytest.mark.parametrize("make_layer", [_conv_with_distinct_banks, _low_rank_conv_with_distinct_banks])
@pytest.mark.parametrize("size", [9, 17])
def test_per_sample_signal_is_the_blended_filter(make_layer, size):
    layer = make_layer()
    x, signal = torch.randn(3, 4, size, size), torch.rand(3, 6)
    out = layer(x, signal)
    for n in range(3):  # W_k(x_n) = (1 - r_nk) W_clean_k + r_nk W_adv_k, one sample at a time
        r = signal[n][:, None, None, None]
        weight = (1 - r) * layer.weight_clean + r * layer.weight_adv
        bias = (1 - signal[n]) * layer.bias_clean + signal[n] * layer.bias_adv
        torch.testing.assert_close(out[n : n + 1], _static_conv(layer, weight, bias, x[n : n + 1]), rtol=0, atol=1e-5)


def test_from_static_starts_equal_to_the_static_conv():
    torch.manual_seed(1)
    conv = nn.Conv2d(3, 5, 3, padding=1, bias=True)
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(AWConv2d.from_static(conv)(x, torch.rand(2, 5)), conv(x), rtol=0, atol=1e-5)
    low_rank = LowRankAWConv2d.from_static(conv, rank_fraction=0.25)
    torch.testing.assert_close(low_rank(x, torch.rand(2, 5)), conv(x), rtol=0, atol=1e-5)


def test_layers_refuse_to_run_without_a_signal():
    with pytest.raises(RuntimeError, match="signal"):
        _conv_with_distinct_banks()(torch.randn(1, 4, 5, 5))
    with pytest.raises(RuntimeError, match="signal"):
        _low_rank_conv_with_distinct_banks()(torch.randn(1, 4, 5, 5))
    with pytest.raises(RuntimeError, match="signal"):
        MixBN(4).eval()(torch.randn(1, 4, 5, 5))


def test_fused_backward_passes_match_autograd():
    torch.manual_seed(0)
    both, signal = torch.randn(2, 6, 4, 5, dtype=torch.double), torch.rand(2, 3, dtype=torch.double)
    assert torch.autograd.gradcheck(_BlendBanks.apply, (both.requires_grad_(), signal.requires_grad_()))
    assert torch.autograd.gradgradcheck(_BlendBanks.apply, (both, signal))
    channels_last = both.detach().to(memory_format=torch.channels_last).requires_grad_()
    assert torch.autograd.gradcheck(_BlendBanks.apply, (channels_last, signal))
    x, scale, shift = (torch.randn(2, 3, 4, 5, dtype=torch.double, requires_grad=True),
                       torch.rand(2, 3, dtype=torch.double, requires_grad=True),
                       torch.rand(2, 3, dtype=torch.double, requires_grad=True))
    assert torch.autograd.gradcheck(_PerSampleAffine.apply, (x, scale, shift))
    delta = torch.randn(2, 3, 4, 5, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(_AddScaled.apply, (x, delta, scale))


def _mixbn_with_distinct_branches() -> MixBN:
    torch.manual_seed(0)
    layer = MixBN(4)
    with torch.no_grad():
        for branch, offset in ((layer.clean, 0.0), (layer.adversarial, 1.0)):
            branch.weight.uniform_(0.5, 1.5)
            branch.bias.normal_().add_(offset)
            branch.running_mean.normal_().add_(offset)
            branch.running_var.uniform_(0.5, 2.0)
    return layer


def test_mixbn_training_split_normalises_each_half_with_its_own_branch():
    layer = _mixbn_with_distinct_branches().train()
    reference_clean, reference_adv = (MixBN(4), MixBN(4))
    reference_clean.load_state_dict(layer.state_dict())
    reference_adv.load_state_dict(layer.state_dict())
    x = torch.cat([torch.randn(5, 4, 3, 3), 3 + 2 * torch.randn(3, 4, 3, 3)])
    layer.batch_split = 5
    out = layer(x)
    expected_clean = reference_clean.clean.train()(x[:5])
    expected_adv = reference_adv.adversarial.train()(x[5:])
    torch.testing.assert_close(out[:5], expected_clean)
    torch.testing.assert_close(out[5:], expected_adv)
    # each branch's running statistics tracked its own half only
    torch.testing.assert_close(layer.clean.running_mean, reference_clean.clean.running_mean)
    torch.testing.assert_close(layer.adversarial.running_mean, reference_adv.adversarial.running_mean)
    assert not torch.allclose(layer.clean.running_mean, layer.adversarial.running_mean)


def test_mixbn_eval_blends_the_branches_per_sample():
    layer = _mixbn_with_distinct_branches().eval()
    x = torch.randn(3, 4, 5, 5)
    clean, adversarial = layer.clean(x), layer.adversarial(x)
    torch.testing.assert_close(layer(x, torch.zeros(3, 4)), clean)
    torch.testing.assert_close(layer(x, torch.ones(3, 4)), adversarial)
    signal = torch.rand(3, 4)
    r = signal[:, :, None, None]
    torch.testing.assert_close(layer(x, signal), (1 - r) * clean + r * adversarial)
    torch.testing.assert_close(layer(x[1:2], signal[1:2]), layer(x, signal)[1:2])  # batch-independent


def test_mixbn_training_without_split_uses_batch_statistics_and_tracks_both_branches():
    layer = _mixbn_with_distinct_branches().train()
    before = layer.adversarial.running_mean.clone()
    x, signal = 2 + torch.randn(6, 4, 3, 3), torch.rand(6, 4)
    out = layer(x, signal)
    normalised = F.batch_norm(x, None, None, training=True)
    r = signal[:, :, None, None]
    scale = (1 - r) * layer.clean.weight[:, None, None] + r * layer.adversarial.weight[:, None, None]
    shift = (1 - r) * layer.clean.bias[:, None, None] + r * layer.adversarial.bias[:, None, None]
    torch.testing.assert_close(out, normalised * scale + shift)
    expected = 0.9 * before + 0.1 * x.mean((0, 2, 3))
    torch.testing.assert_close(layer.adversarial.running_mean, expected)
    assert int(layer.clean.num_batches_tracked) == int(layer.adversarial.num_batches_tracked) == 1


def test_mixbn_refuses_a_split_outside_the_batch():
    layer = MixBN(4).train()
    layer.batch_split = 7
    with pytest.raises(ValueError, match="batch_split"):
        layer(torch.randn(4, 4, 2, 2))


def test_mixbn_from_static_keeps_the_dtype_of_the_static_layer():
    static = nn.BatchNorm2d(3).double()
    layer = MixBN.from_static(static)
    assert {p.dtype for p in layer.parameters()} == {torch.float64}
    assert layer.clean.running_mean.dtype == layer.adversarial.running_var.dtype == torch.float64


def test_mixbn_running_statistics_of_bf16_activations_are_computed_in_fp32():
    """Under bf16 autocast MixBN's activations are bf16; like nn.BatchNorm2d it keeps fp32 statistics."""
    torch.manual_seed(0)
    layer = MixBN(4).train()
    x = (torch.randn(64, 4, 6, 6) * 3 + 100).bfloat16()  # a large mean: bf16 sums lose its digits
    layer(x, torch.rand(64, 4))
    var, mean = torch.var_mean(x.float(), dim=(0, 2, 3), correction=1)
    torch.testing.assert_close(layer.clean.running_mean, 0.1 * mean)
    torch.testing.assert_close(layer.clean.running_var, 0.9 + 0.1 * var)
