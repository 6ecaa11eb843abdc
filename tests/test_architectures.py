import math

import pytest
import torch
from torch import nn

from spatialpool.models.architectures import (
    ARCHITECTURES,
    VGG_LAYOUTS,
    build,
    describe,
    table_c1,
    weight_layers,
)


pytestmark = pytest.mark.usefixtures("one_thread")


def conv(c_in, c_out, k, bias=True):
    return c_in * c_out * k * k + (c_out if bias else 0)


def fc(n_in, n_out, bias=True):
    return n_in * n_out + (n_out if bias else 0)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_lenet_parameter_count():
    # conv5 3->6, pool, conv5 6->16, pool: 16 x 5 x 5 = 400 features, then 120, 84, 10
    expected = conv(3, 6, 5) + conv(6, 16, 5) + fc(400, 120) + fc(120, 84) + fc(84, 10)
    assert expected == 62006
    assert n_params(build("lenet")) == expected


@pytest.mark.parametrize("depth", [11, 19])
@pytest.mark.parametrize("bn", [False, True])
def test_vgg_parameter_count(depth, bn):
    widths = [c for c in VGG_LAYOUTS[depth] if c != "M"]
    expected, c_in = 0, 3
    for c in widths:
        expected += conv(c_in, c, 3) + (2 * c if bn else 0)  # conv bias kept even with BN
        c_in = c
    expected += fc(512, 10)
    assert n_params(build(f"vgg{depth}{'_bn' if bn else ''}")) == expected
    if depth == 11 and not bn:
        assert expected == 9225610


def test_fcn_parameter_counts():
    assert n_params(build("fcn2")) == fc(3072, 64) + fc(64, 10, bias=False)
    assert n_params(build("fcn6")) == fc(3072, 64) + 4 * fc(64, 64) + fc(64, 10, bias=False)


def test_alexnet_parameter_count():
    convs = conv(3, 64, 3) + conv(64, 192, 3) + conv(192, 384, 3) + conv(384, 256, 3) + conv(256, 256, 3)
    assert n_params(build("alexnet")) == convs + fc(256 * 2 * 2, 4096) + fc(4096, 4096) + fc(4096, 10)


def test_resnet_parameter_counts_match_the_known_cifar_values():
    assert n_params(build("resnet18")) == 11_173_962
    assert n_params(build("resnet50")) == 23_520_842


def test_fcn_uses_the_authors_parametrisation():
    torch.manual_seed(0)
    net = build("fcn4")
    hidden = [m for m in net.modules() if hasattr(m, "scale")]
    w = torch.cat([m.weight.flatten() for m in hidden])
    assert abs(w.std().item() - 1) < 0.02 and abs(w.mean().item()) < 0.02  # N(0, 1) weights
    x = torch.randn(3, 3, 32, 32)
    h = x.flatten(1)
    for m in hidden[:-1]:
        h = torch.relu(h @ m.weight.t() / math.sqrt(m.in_features) + m.bias)
    assert hidden[-1].bias is None
    expected = h @ hidden[-1].weight.t() / hidden[-1].in_features
    assert torch.allclose(net(x), expected, atol=1e-5)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_architecture_maps_32x32_to_10_logits_without_inplace_ops(name):
    torch.manual_seed(0)
    net = build(name)
    assert not [m for m in net.modules() if getattr(m, "inplace", False)]
    net.train()
    with torch.no_grad():
        out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["lenet", "vgg11_bn", "resnet18", "efficientnet_b0", "fcn2", "alexnet"])
def test_one_channel_hinge_variant(name):
    net = build(name, num_classes=1, in_channels=1, width_factor=0.25).eval()
    with torch.no_grad():
        assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 1)


def test_vgg_needs_32_pixels():
    with pytest.raises(ValueError, match="32"):
        build("vgg11", input_size=28)


def test_hooks_see_pre_activation_values():
    """Non-in-place ReLUs: a conv's hooked output keeps its negative values."""
    torch.manual_seed(0)
    net = build("vgg11_bn", width_factor=0.25).eval()
    seen = {}
    conv1, bn1, relu1 = net.features[0], net.features[1], net.features[2]
    for name, m in [("conv", conv1), ("bn", bn1), ("relu", relu1)]:
        m.register_forward_hook(lambda mod, inp, out, name=name: seen.__setitem__(name, out))
    net(torch.randn(2, 3, 32, 32))
    assert (seen["conv"] < 0).any() and (seen["bn"] < 0).any()
    assert torch.equal(seen["relu"], torch.relu(seen["bn"]))


@pytest.mark.parametrize("name", ["vgg11", "resnet18", "alexnet", "efficientnet_b0"])
def test_width_factor_scales_parameters_about_quadratically(name):
    full, half = n_params(build(name)), n_params(build(name, width_factor=0.5))
    assert 0.22 < half / full < 0.3


def test_weight_layers_and_table_c1():
    table = table_c1().set_index("name")
    assert set(table.index) == set(ARCHITECTURES)
    depth = table["depth"].to_dict()
    assert depth["lenet"] == 5 and depth["alexnet"] == 8 and depth["fcn4"] == 4
    assert depth["resnet18"] == 18 and depth["resnet34"] == 34 and depth["resnet50"] == 50
    assert depth["vgg11"] == 9 and depth["vgg19_bn"] == 17  # CIFAR VGGs: convs + one linear
    assert table.loc["resnet18", "parameters"] == 11_173_962
    assert table.loc["lenet", "pooling"] == "Max" and table.loc["resnet50", "pooling"] == "Avg. (last)"
    assert table.loc["efficientnet_b0", "activation"] == "Swish"
    assert table.loc["efficientnet_b0", "dropout"] == "Yes + DropConnect"
    assert table.loc["alexnet", "dropout"] == "Yes" and table.loc["vgg11", "dropout"] == "-"
    assert table.loc["vgg11_bn", "batch_norm"] == "Yes" and table.loc["vgg11", "batch_norm"] == "-"
    assert table.loc["resnet18", "skip_connections"] == "Yes" and table.loc["vgg16", "skip_connections"] == "-"
    assert table.loc["lenet", "fc_layers"] == 3 and table.loc["vgg13", "fc_layers"] == 1
    assert 150_000 < table.loc["fcn2", "parameters"] < 250_000  # Table C1: about 200k
    names = [n for n, _ in weight_layers(build("resnet18"))]
    assert names[0] == "conv1" and names[-1] == "linear" and not any("shortcut" in n for n in names)
    row = describe("lenet", build("lenet", width_factor=2.0))
    assert row["parameters"] > table.loc["lenet", "parameters"]


def test_residual_blocks_add_their_input():
    torch.manual_seed(0)
    block = build("resnet18").layer1[0].eval()
    for m in block.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.zeros_(m.weight)  # residual branch outputs 0 -> block is relu(identity)
    x = torch.randn(2, 64, 8, 8)
    assert torch.allclose(block(x), torch.relu(x))
