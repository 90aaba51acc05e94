"""Strategies carried out by the engine: what trains, at which rate, and the cached prefix."""

import dataclasses

import pytest
import torch

import zoo
from zoo.cli.main import main
from zoo.data.images import ImageSet
from zoo.data.preprocess import prepare
from zoo.models.backbone import set_trainable_from, stage_module
from zoo.plugin.recipe import Recipe
from zoo.plugin.strategy import Phase, Select, StrategySpec, resolve_strategy
from zoo.train.loop import Diverged, fit, validation_score
from zoo.train.transfer import FeatureSet, PrefixCache, param_groups, run_strategy, split_epochs
from zoo_plugins.strategies import l2_sp_penalty

CPU = torch.device("cpu")
STRATEGIES = zoo.get_zoo().strategies


def toy_data(n=48, classes=3, size=32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, size, size), dtype=torch.uint8, generator=generator)
    labels = torch.arange(n) % classes
    return prepare(ImageSet(images, labels, tuple("abc"[:classes]), "toy"), (3, size, size), (0.5,) * 3, (0.25,) * 3)


def fresh(name="resnet18", classes=3, seed=0):
    torch.manual_seed(seed)
    return zoo.create_model(name, num_classes=classes)


def snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def changed_stages(model, before):
    """Names of the stages any of whose weights (or BatchNorm statistics) changed."""
    after = model.state_dict()
    names = []
    for stage in zoo.stages(model):
        keys = [k for k in after if any(k.startswith(p + ".") for p in stage.modules)]
        if any(not torch.equal(after[k], before[k]) for k in keys if k in before and after[k].shape == before[k].shape):
            names.append(stage.name)
    return names


def test_the_seed_and_extra_strategies_are_registered_with_their_quadrants():
    assert {
        "scratch", "linear_probe", "partial", "full", "lp_ft", "discriminative", "gradual_unfreeze", "bitfit", "norm_only",
        "l2_sp",
    } <= set(STRATEGIES.names())  # fmt: skip
    assert STRATEGIES.get("linear_probe").quadrants == ("Q4",)
    assert STRATEGIES.get("full").quadrants == ("Q1",)
    assert "Q2" in STRATEGIES.get("partial").quadrants
    assert not STRATEGIES.get("scratch").pretrained


@pytest.mark.parametrize(
    "strategy, trained",
    [
        ("linear_probe", ["head"]),
        ("partial", ["stage3", "stage4", "head"]),
        ("full", ["stem", "stage1", "stage2", "stage3", "stage4", "head"]),
        ("lp_ft", ["stem", "stage1", "stage2", "stage3", "stage4", "head"]),
        ("gradual_unfreeze", ["stem", "stage1", "stage2", "stage3", "stage4", "head"]),
    ],
)
def test_each_strategy_trains_exactly_its_stages(strategy, trained):
    model = fresh()
    before = snapshot(model)
    spec = STRATEGIES.get(strategy)
    run_strategy(model, spec, toy_data(), Recipe(epochs=len(spec.phases), batch_size=16, lr=0.05), seed=0, device=CPU)
    assert changed_stages(model, before) == trained


@pytest.mark.parametrize("k, trained", [(1, ["stage4", "head"]), (3, ["stage2", "stage3", "stage4", "head"])])
def test_partial_takes_the_number_of_top_stages_as_an_option(k, trained):
    spec = resolve_strategy(zoo.get_zoo().strategies, f"partial:k={k}")
    assert spec.name == f"partial:k={k}" and spec.quadrants == STRATEGIES.get("partial").quadrants
    model = fresh()
    before = snapshot(model)
    epochs = []
    run_strategy(model, spec, toy_data(), Recipe(epochs=2, batch_size=16), seed=0, device=CPU,
                 on_epoch=lambda done, total: epochs.append((done, total)))  # fmt: skip
    assert changed_stages(model, before) == trained
    assert epochs == [(1, 2), (2, 2)]


@pytest.mark.parametrize(
    "name, message",
    [
        ("partial:j=3", "bad option 'j=3' for strategy 'partial'; it takes k=VALUE (default 2)"),
        ("partial:k=0", "k must be a whole number of stages, at least 1"),
        ("scratch:k=1", "strategy 'scratch' takes no options"),
        ("partail:k=1", "did you mean partial"),
    ],
)
def test_bad_strategy_options_exit_2_with_one_line(capsys, name, message):
    assert main(["bench", "--strategy", name, "--arch", "simple_cnn"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_epoch_progress_counts_across_phases():
    epochs = []
    run_strategy(fresh("simple_cnn"), STRATEGIES.get("lp_ft"), toy_data(), Recipe(epochs=4, batch_size=16), seed=0,
                 device=CPU, on_epoch=lambda done, total: epochs.append((done, total)))  # fmt: skip
    assert epochs == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_vgg_linear_probe_trains_fc8_alone():
    model = fresh("vgg11_bn")
    before = snapshot(model)
    run_strategy(model, STRATEGIES.get("linear_probe"), toy_data(n=16), Recipe(epochs=1, batch_size=16), seed=0, device=CPU)
    assert changed_stages(model, before) == ["head"]


def test_cached_prefix_trains_the_same_as_running_the_frozen_stages():
    data, recipe = toy_data(), Recipe(epochs=2, batch_size=16, lr=0.05, augment=False)
    cached = fresh()
    runs = run_strategy(cached, STRATEGIES.get("partial"), data, recipe, seed=3, device=CPU)
    assert [r.cached_prefix for r in runs] == [True]

    direct = fresh()
    frozen = runs[0].frozen_stages
    set_trainable_from(direct, frozen)
    stage_list = zoo.stages(direct)
    groups = param_groups(direct, stage_list[frozen:], recipe.lr, 0.1, None)
    fit(direct, data, recipe, seed=3, device=CPU, param_groups=groups,
        eval_modules=[stage_module(direct, s) for s in stage_list[:frozen]])  # fmt: skip
    for key, value in direct.state_dict().items():
        torch.testing.assert_close(cached.state_dict()[key], value, rtol=1e-4, atol=1e-5, msg=key)


def test_the_prefix_cache_computes_each_prefix_once_across_cells():
    cache, data, recipe = PrefixCache(), toy_data(), Recipe(epochs=1, batch_size=16)
    for strategy in ("linear_probe", "linear_probe", "partial", "partial"):
        run_strategy(fresh(), STRATEGIES.get(strategy), data, recipe, seed=0, device=CPU, cache=cache, cache_key="w")
    assert cache.computed == 2


def test_gradual_unfreezing_caches_while_the_prefix_is_untouched():
    spec = STRATEGIES.get("gradual_unfreeze")
    runs = run_strategy(fresh(), spec, toy_data(), Recipe(epochs=4, batch_size=16), seed=0, device=CPU)
    assert [r.frozen_stages for r in runs] == [5, 4, 3, 0]
    assert [r.cached_prefix for r in runs] == [True, True, True, False]


def test_augmented_phases_run_the_frozen_stages_in_eval_mode():
    spec = StrategySpec("aug_partial", "partial with augmentation", (Phase(1, augment=True),))
    model = fresh()
    before = snapshot(model)
    runs = run_strategy(model, spec, toy_data(), Recipe(epochs=1, batch_size=16), seed=0, device=CPU)
    assert not runs[0].cached_prefix
    assert changed_stages(model, before) == ["stage4", "head"]  # frozen BatchNorm kept its statistics


def test_learning_rates_per_stage():
    model = fresh()
    stage_list = zoo.stages(model)
    discriminative = STRATEGIES.get("discriminative").phases[0]
    groups = param_groups(model, stage_list, 1.0, discriminative.backbone_lr, discriminative.layer_decay)
    assert [g["stage"] for g in groups] == ["head", "stage4", "stage3", "stage2", "stage1", "stem"]
    assert [g["lr"] for g in groups] == [1.0, 0.25, 0.125, 0.0625, 0.03125, 0.015625]
    full = param_groups(model, stage_list, 0.2, 0.1, None)
    assert {g["stage"]: g["lr"] for g in full}["head"] == 0.2
    assert {round(g["lr"], 6) for g in full if g["stage"] != "head"} == {0.02}


@pytest.mark.parametrize(
    "epochs, shares, expected",
    [(10, [1.0], [10]), (10, [0.5, 0.5], [5, 5]), (5, [0.5, 0.5], [3, 2]), (4, [0.25] * 4, [1] * 4), (2, [0.25] * 4, [1, 1, 0, 0])],
)
def test_split_epochs(epochs, shares, expected):
    assert split_epochs(epochs, shares) == expected


def test_a_diverging_loss_stops_training():
    with pytest.raises(Diverged, match="loss became"):
        fit(fresh("simple_cnn"), toy_data(), Recipe(epochs=3, batch_size=16, lr=1e12), seed=0, device=CPU)


def test_malformed_strategies_are_refused():
    from zoo.plugin.strategy import validate_strategy_spec

    good = STRATEGIES.get("lp_ft")
    assert validate_strategy_spec(good) is None
    assert "add up" in validate_strategy_spec(dataclasses.replace(good, phases=(Phase("head", share=0.5),)))
    assert "trainable" in validate_strategy_spec(dataclasses.replace(good, phases=(Phase("top"),)))
    assert "quadrants" in validate_strategy_spec(dataclasses.replace(good, quadrants=("Q5",)))


def test_strategy_commands(capsys):
    assert main(["list", "--kind", "strategies"]) == 0
    out = capsys.readouterr().out
    assert "linear_probe" in out and "Q4" in out
    assert main(["info", "lp_ft"]) == 0
    out = capsys.readouterr().out
    assert "50% of epochs: the classifier" in out and "every stage (pretrained stages at ×0.1 lr)" in out
    assert main(["info", "parital"]) == 2
    assert "did you mean partial" in capsys.readouterr().err


def test_the_prefix_cache_keeps_within_its_byte_budget():
    def features(n):
        return lambda: FeatureSet(torch.zeros(n, 256), torch.zeros(n, dtype=torch.long), ("a",))

    cache = PrefixCache(max_bytes=3 * 1024 * 4 * 256)  # three entries of 1024 × 256 floats
    for key in "abcd":
        cache.get(key, features(1024))
    assert cache.bytes <= cache.max_bytes and cache.computed == 4
    cache.get("d", features(1024))
    cache.get("a", features(1024))  # dropped as the least recently used: computed again
    assert cache.computed == 5
    huge = cache.get("huge", features(4 * 1024))  # larger than the budget: used, not kept
    assert len(huge) == 4096 and cache.computed == 6
    cache.get("huge", features(4 * 1024))
    assert cache.computed == 7


def test_a_strategy_that_changes_the_weights_does_not_share_cached_prefixes():
    def reinitialise(model):
        torch.nn.init.zeros_(model.conv1.weight)

    changed = StrategySpec("reinit", "zeroes the stem, then probes", (Phase("head"),), setup=reinitialise)
    cache, data, recipe = PrefixCache(), toy_data(), Recipe(epochs=1, batch_size=16)
    run_strategy(fresh(), STRATEGIES.get("linear_probe"), data, recipe, seed=0, device=CPU, cache=cache, cache_key="w")
    alone, beside = fresh(), fresh()
    run_strategy(alone, changed, data, recipe, seed=0, device=CPU)
    run_strategy(beside, changed, data, recipe, seed=0, device=CPU, cache=cache, cache_key="w")
    torch.testing.assert_close(beside.fc.weight, alone.fc.weight)  # trained on its own zeroed stem's outputs
    assert cache.computed == 1


def test_precision_is_auto_unless_zoo_precision_says(monkeypatch):
    from zoo.device import autocast, precision
    from zoo.errors import ZooError

    monkeypatch.setenv("ZOO_PRECISION", "fp32")
    assert precision(CPU) == "fp32" and not autocast(CPU)._enabled
    monkeypatch.setenv("ZOO_PRECISION", "bf16")
    assert precision(CPU) == "bf16"
    with autocast(CPU):
        assert torch.nn.Linear(4, 4)(torch.ones(1, 4)).dtype == torch.bfloat16
    monkeypatch.setenv("ZOO_PRECISION", "fp16")
    with pytest.raises(ZooError, match="ZOO_PRECISION='fp16' is not one of auto, bf16, fp32"):
        precision(CPU)
    monkeypatch.delenv("ZOO_PRECISION")
    assert precision(CPU) == "fp32", "a CPU computes in fp32 unless asked: results must not depend on the machine"
    assert precision(torch.device("meta")) == "fp32"


def separable(n=64, seed=0):
    """Two classes a small network learns in a few epochs: bright and dark images."""
    data = toy_data(n=n, classes=2, seed=seed)
    data.images[data.labels == 1] //= 4
    return data


def test_validation_stops_training_at_a_plateau_and_a_doubled_cap_changes_nothing():
    recipe = Recipe(epochs=60, batch_size=16, lr=0.05, augment=False, patience=2, decays=1)
    train, held_out = separable(), separable(n=32, seed=1)
    models, runs = [], []
    for cap in (60, 120):
        model = fresh("simple_cnn", classes=2)
        runs.append(fit(model, train, dataclasses.replace(recipe, epochs=cap), seed=0, device=CPU, validation=held_out))
        models.append(model)
    first, doubled = runs
    assert first.stopped_early and first.epochs < 60 and first.cap == 60
    assert first.best_epoch <= first.epochs and first.val_top1 == 1.0
    assert [e["epoch"] for e in first.curve] == list(range(1, first.epochs + 1))
    assert {e["lr_factor"] for e in first.curve} == {1.0, 0.1}, "the rate dropped once at a plateau, then training stopped"
    assert (doubled.epochs, doubled.best_epoch, doubled.curve) == (first.epochs, first.best_epoch, first.curve)
    for a, b in zip(models[0].state_dict().values(), models[1].state_dict().values(), strict=True):
        assert torch.equal(a, b), "the same weights, bit for bit"


def test_the_best_validation_epoch_is_kept():
    recipe = Recipe(epochs=8, batch_size=16, lr=0.05, augment=False, patience=100)
    model, held_out = fresh("simple_cnn", classes=3), toy_data(seed=1)  # noise: the validation score wanders
    stats = fit(model, toy_data(), recipe, seed=0, device=CPU, validation=held_out)
    assert not stats.stopped_early and stats.epochs == 8
    assert round(stats.val_top1, 5) == max(e["val_top1"] for e in stats.curve)
    best = stats.curve[stats.best_epoch - 1]
    loss, top1 = validation_score(model, held_out, CPU)
    assert (round(loss, 5), round(top1, 5)) == (best["val_loss"], best["val_top1"]), "the model holds the best epoch's weights"


# ---------------------------------------------------------------------------- parameters selected within stages


def changed_parameters(model, before):
    return [name for name, param in model.named_parameters() if not torch.equal(param, before[name])]


def statistics_changed(model, before):
    return [k for k in before if k.endswith("running_mean") and not torch.equal(model.state_dict()[k], before[k])]


def pretrained_like():
    """resnet18 with every normalisation scale at 1: timm starts each block's last one at 0
    (a from-scratch aid), which would leave the biases before it without a gradient."""
    model = fresh()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            torch.nn.init.ones_(module.weight)
    return model


def test_bitfit_trains_the_biases_and_the_classifier_alone_and_counts_them_exactly():
    model = pretrained_like()
    before = snapshot(model)
    [run] = run_strategy(model, STRATEGIES.get("bitfit"), toy_data(), Recipe(epochs=1, batch_size=16), seed=0, device=CPU)
    biases = [name for name, _ in model.named_parameters() if name.endswith(".bias")]
    assert sorted(changed_parameters(model, before)) == sorted(biases + ["fc.weight"])
    assert sorted(run.trained) == sorted(biases + ["fc.weight"])
    assert sum(run.trained.values()) == sum(model.get_parameter(n).numel() for n in biases) + 3 * 512
    assert run.frozen_stages == 0 and not run.cached_prefix  # the stem's normalisation trains too
    assert statistics_changed(model, before)  # normalisation from each batch's statistics, as in training


def test_norm_only_trains_the_normalisation_layers_and_the_classifier_alone():
    model = pretrained_like()
    before = snapshot(model)
    run_strategy(model, STRATEGIES.get("norm_only"), toy_data(), Recipe(epochs=1, batch_size=16), seed=0, device=CPU)
    norms = [n for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert sorted(changed_parameters(model, before)) == sorted(
        [f"{n}.{p}" for n in norms for p in ("weight", "bias")] + ["fc.weight", "fc.bias"]
    )


def test_a_selection_within_the_top_stage_keeps_a_cached_prefix_and_frozen_statistics_stay():
    spec = StrategySpec(
        "top_norms", "the top stage's normalisation, statistics held",
        (Phase((Select(1, modules=("norm",)), Select("head")), norm_stats="frozen"),),
    )  # fmt: skip
    model = pretrained_like()
    before = snapshot(model)
    [run] = run_strategy(model, spec, toy_data(), Recipe(epochs=2, batch_size=16, augment=False), seed=0, device=CPU)
    assert run.frozen_stages == 4 and run.cached_prefix
    assert {name.split(".")[0] for name in changed_parameters(model, before)} == {"layer4", "fc"}
    assert all(".bn" in n or "downsample.1" in n or n.startswith("fc") for n in changed_parameters(model, before))
    assert statistics_changed(model, before) == []

    direct = pretrained_like()  # the same phase, running the frozen stages at every step: the same weights
    run_strategy(direct, spec, toy_data(), Recipe(epochs=2, batch_size=16, augment=False), seed=0, device=CPU,
                 cache_prefixes=False)  # fmt: skip
    for key, value in direct.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=1e-4, atol=1e-5, msg=key)


def test_parameters_a_setup_froze_stay_frozen_in_every_phase():
    def hold_the_top_block(model):
        for param in model.layer4[1].parameters():
            param.requires_grad_(False)

    held = dataclasses.replace(STRATEGIES.get("lp_ft"), name="held", setup=hold_the_top_block)
    model = fresh()
    before = snapshot(model)
    runs = run_strategy(model, held, toy_data(), Recipe(epochs=2, batch_size=16), seed=0, device=CPU)
    assert not any(name.startswith("layer4.1.") for name in changed_parameters(model, before))
    assert any(name.startswith("layer4.0.") for name in changed_parameters(model, before))
    block = sum(p.numel() for p in model.layer4[1].parameters())
    assert sum(runs[-1].trained.values()) == sum(p.numel() for p in model.parameters()) - block


def test_a_phase_that_trains_nothing_is_an_error_naming_it():
    def freeze_all(model):
        model.requires_grad_(False)

    spec = StrategySpec("nothing", "everything frozen", (Phase("head"),), setup=freeze_all)
    with pytest.raises(ValueError, match="phase 1 of strategy 'nothing' trains no parameter"):
        run_strategy(fresh(), spec, toy_data(), Recipe(epochs=1, batch_size=16), seed=0, device=CPU)


def test_the_l2_sp_penalty_is_half_alpha_times_the_squared_distance_from_the_start():
    model = fresh()
    penalty = l2_sp_penalty(0.5)(model)
    assert penalty(model).item() == 0
    with torch.no_grad():
        model.conv1.weight[0, 0, 0, 0] += 2.0
        model.fc.weight += 100.0  # the classifier is new: not pulled anywhere
    assert penalty(model).item() == pytest.approx(0.5 / 2 * 2.0**2)


def test_l2_sp_keeps_the_weights_nearer_their_start_the_stronger_its_pull():
    """The squared distance of the pretrained layers from their start shrinks as α grows:
    measured on this toy task, α = 10 cut it 2.3× against ``full`` and α = 50 22×."""

    def moved(strategy):
        model = fresh("simple_cnn")
        before = snapshot(model)
        run_strategy(model, resolve_strategy(zoo.get_zoo().strategies, strategy), toy_data(), Recipe(epochs=3, batch_size=16, lr=0.2), seed=0, device=CPU)
        classifier = set(zoo.stage_parameters(model, zoo.stages(model)[-1]))
        return sum((p - before[n]).pow(2).sum().item() for n, p in model.named_parameters() if n not in classifier)

    full, weak, strong = moved("full"), moved("l2_sp:alpha=10"), moved("l2_sp:alpha=50")
    assert strong < full / 10 and strong < weak < full / 1.5


def test_zoo_info_says_what_a_selection_trains(capsys):
    assert main(["info", "bitfit"]) == 0
    out = capsys.readouterr().out
    assert "100% of epochs: parameters named bias in every stage + the classifier" in out
    assert "Ben Zaken" in out
    assert main(["info", "l2_sp"]) == 0
    out = capsys.readouterr().out
    assert "cross-entropy + the strategy's penalty" in out and "pretrained stages at ×0.1 lr, weight decay 0" in out


def test_malformed_selections_are_refused():
    from zoo.plugin.strategy import validate_strategy_spec

    good = STRATEGIES.get("bitfit")
    assert validate_strategy_spec(good) is None
    for bad in ((), (Select("top"),), ("head",), True):
        assert "trainable" in validate_strategy_spec(dataclasses.replace(good, phases=(Phase(bad),)))
    assert "norm_stats" in validate_strategy_spec(dataclasses.replace(good, phases=(Phase("all", norm_stats="held"),)))
