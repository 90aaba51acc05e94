"""Every registered architecture: builds, runs at its minimum size, and splits into stages.

Also checks the networks torchvision publishes against torchvision's own metadata
(parameters, MACs, minimum input size) and that torchvision's checkpoints load into zoo's
re-organised adapters.
"""

import pytest
import torch
import torchvision
from torch import nn

import zoo
from zoo.models.backbone import classifier_width
from zoo.models.complexity import build_meta, measure
from zoo_plugins.inception import INCEPTION_V3_AUX_PARAMS

ARCHITECTURES = zoo.list_models()
REFERENCED = [n for n in ARCHITECTURES if zoo.get_zoo().architectures.get(n).reference]


def spec(name):
    return zoo.get_zoo().architectures.get(name)


def test_the_families_the_zoo_promises_are_registered():
    expected = {
        "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
        "googlenet", "inception_v3", "inception_v4", "inception_resnet_v2",
        "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
        "resnext101_32x8d", "wide_resnet50_2", "wide_resnet101_2", "simple_cnn", "alexnet",
        "mobilenetv3_small_100", "mobilenetv3_large_100",
        "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "efficientnet_lite3", "efficientnet_lite4",
    }  # fmt: skip
    assert expected <= set(ARCHITECTURES)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_forward_at_min_size_stages_and_new_classifier(name):
    torch.manual_seed(0)
    model = zoo.create_model(name).eval()
    x = torch.randn(2, *spec(name).min_input_size)
    with torch.no_grad():
        logits = model(x)
        assert logits.shape == (2, model.num_classes)
        # Running the stages one after another is the forward pass.
        torch.testing.assert_close(zoo.run_stages(model, x), logits)
        pooled = model.forward_head(model.forward_features(x), pre_logits=True)
        assert pooled.shape == (2, classifier_width(model))  # what zoo info reports as its features

    all_stages = zoo.stages(model)
    assert [s.name for s in all_stages][0] == "stem" and all_stages[-1].name == "head"
    owned = [key for stage in all_stages for key in zoo.stage_parameters(model, stage)]
    assert len(owned) == len(set(owned)), "a parameter belongs to two stages"
    assert set(owned) == {key for key, _ in model.named_parameters()}, "a parameter belongs to no stage"
    head_params = set(zoo.stage_parameters(model, all_stages[-1]).values())
    assert set(model.get_classifier().parameters()) <= head_params

    model.reset_classifier(7)
    with torch.no_grad():
        assert model(x).shape == (2, 7)
    assert set(model.get_classifier().parameters()) <= set(zoo.stage_parameters(model, zoo.stages(model)[-1]).values())


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_freezing_k_stages_leaves_exactly_the_top_stages_trainable(name):
    count = len(zoo.stages(build_meta(spec(name))))
    for k in range(count + 1):
        model = build_meta(spec(name))
        stage_list = zoo.stages(model)
        expected = {key for stage in stage_list[k:] for key in zoo.stage_parameters(model, stage)}
        frozen = zoo.freeze_stages(model, k)
        assert [s.name for s in frozen] == [s.name for s in stage_list[:k]]
        trainable = {key for key, p in model.named_parameters() if p.requires_grad}
        assert trainable == expected, f"k={k}"


def test_frozen_batchnorm_keeps_its_running_statistics_in_train_mode():
    torch.manual_seed(0)
    model = zoo.create_model("resnet18", num_classes=3)
    zoo.freeze_stages(model, 2)
    stem_bn = model.get_submodule("bn1")
    before = stem_bn.running_mean.clone()
    free_bn = model.get_submodule("layer2.0.bn1")
    free_before = free_bn.running_mean.clone()
    model.train()
    model(torch.randn(4, 3, 32, 32)).sum().backward()
    torch.testing.assert_close(stem_bn.running_mean, before)
    assert not torch.equal(free_bn.running_mean, free_before), "unfrozen BatchNorm should still update"
    assert model.conv1.weight.grad is None and model.fc.weight.grad is not None


@pytest.mark.parametrize("name", REFERENCED)
def test_params_macs_and_min_size_match_torchvision_metadata(name):
    meta = torchvision.models.get_model_weights(spec(name).reference).DEFAULT.meta
    complexity = measure(build_meta(spec(name)), spec(name).default_input_size)
    expected_params = meta["num_params"]
    if name == "inception_v3":
        # zoo leaves out the auxiliary classifier that torchvision counts; it never runs at inference.
        with torch.device("meta"):
            aux = torchvision.models.inception_v3(aux_logits=True, init_weights=False).AuxLogits
        assert sum(p.numel() for p in aux.parameters()) == INCEPTION_V3_AUX_PARAMS
        assert "auxiliary" in spec(name).differences
        expected_params -= INCEPTION_V3_AUX_PARAMS
    else:
        assert spec(name).differences == ""
    assert complexity.params == expected_params
    assert complexity.macs / 1e9 == pytest.approx(meta["_ops"], abs=0.0006)
    assert complexity.flops == 2 * complexity.macs
    assert spec(name).min_input_size[1:] == meta["min_size"]


@pytest.mark.parametrize("name", ["alexnet", "googlenet", "vgg11_bn"])
def test_torchvision_checkpoints_load_into_the_adapters(name):
    """Adapters rename torchvision's modules; its checkpoints must still load and agree."""
    torch.manual_seed(0)
    kwargs = {"aux_logits": True, "init_weights": True, "transform_input": False} if name == "googlenet" else {}
    reference = torchvision.models.get_model(name, **kwargs).eval()
    model = zoo.create_model(name).eval()
    model.load_state_dict(model.remap_state_dict(reference.state_dict()), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x))


def test_hub_weights_are_tagged_with_a_default_first():
    resnet50 = spec("resnet50")
    assert resnet50.default_weights.hub == "timm"
    assert "tv_in1k" in {w.tag for w in resnet50.hub_weights}
    vgg16 = spec("vgg16")
    assert [w.tag for w in vgg16.hub_weights] == ["tv_in1k"]  # feature-only weights left out
    assert vgg16.default_weights.hub_name == "VGG16_Weights.IMAGENET1K_V1"
    assert spec("googlenet").default_weights.mean == (0.5, 0.5, 0.5)  # torchvision's transform_input
    assert spec("simple_cnn").hub_weights == ()


def test_simple_cnn_is_the_classic_tutorial_network():
    model = zoo.create_model("simple_cnn", num_classes=10)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [c.out_channels for c in convs] == [32, 64]
    assert [lin.out_features for lin in linears] == [128, 10]
    assert sum(p.numel() for p in model.parameters()) == 545_098


@pytest.mark.parametrize("side, pool", [(32, 1), (64, 2), (96, 3), (224, 7)])
def test_vgg_pools_its_head_to_the_feature_maps_own_side_and_reads_torchvision_weights_exactly(side, pool):
    from zoo.models.architectures import build_network

    spec = zoo.get_zoo().architectures.get("vgg11_bn")
    torch.manual_seed(0)
    reference = torchvision.models.vgg11_bn().eval()
    net = build_network(spec, 1000, side).eval()
    assert net.pool_size == pool and net.pre_logits[2].in_features == 512 * pool * pool
    net.load_state_dict(net.remap_state_dict(reference.state_dict()))
    x = torch.randn(2, 3, side, side)
    with torch.no_grad():
        torch.testing.assert_close(net(x), reference(x), rtol=1e-4, atol=1e-5)  # the same function, fc6 folded
    at_32 = measure(build_meta(spec, 10, 32), (3, 32, 32))
    assert at_32.params == 28_149_514 and zoo.create_model("vgg11_bn", num_classes=10, img_size=32).pre_logits[2].in_features == 512


@pytest.mark.parametrize("name, features", [("mobilenetv3_small_100", 1024), ("mobilenetv3_large_100", 1280)])
def test_mobilenet_counts_are_timms_own_and_its_features_are_what_the_classifier_reads(name, features):
    import timm
    from torch.utils.flop_counter import FlopCounterMode

    from zoo.plugin.architecture import describe

    reference = timm.create_model(name, pretrained=False).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        reference(torch.randn(1, 3, 224, 224))
    info = describe(zoo.get_zoo(), spec(name), "mobilenet")
    assert info["params"] == sum(p.numel() for p in reference.parameters())
    assert info["macs"] == counter.get_total_flops() // 2 and info["num_features"] == features
    assert [s["name"] for s in info["stages"]][-2:] == ["pre_logits", "head"]  # conv_head stays frozen in a linear probe
    assert spec(name).default_weights.hub == "timm"


def test_a_network_of_your_own_needs_no_paper():
    from zoo.plugin.architecture import ArchitectureSpec, validate_spec

    own = ArchitectureSpec("mine", "mine", spec("simple_cnn").build, (3, 32, 32), (3, 8, 8))
    assert own.paper == "" and validate_spec(own) is None


def test_googlenet_convolutions_start_from_he_initialisation():
    """torchvision's σ = 0.01 start leaves GoogLeNet untrainable from scratch at 32×32 (see
    its class docstring); He's fan-out initialisation has std √(2 / fan_out)."""
    torch.manual_seed(0)
    conv = zoo.create_model("googlenet", num_classes=4).inception4a.branch2[1].conv
    fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
    assert conv.weight.std().item() == pytest.approx((2 / fan_out) ** 0.5, rel=0.05)
