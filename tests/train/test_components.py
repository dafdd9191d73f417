import inspect

import pytest
import torch

from hpo.config.metrics import METRICS
from hpo.errors import UsageError
from hpo.registry import NOT_LITERAL, Registry, source_parameters
from hpo.search.registries import PRUNERS, SAMPLERS
from hpo.train import losses as LOSS_FUNCTIONS
from hpo.train.data import create_datamodule
from hpo.train.models import count_parameters, create_model
from hpo.train.module import LitClassifier
from hpo.train.optimizers import create_optimizer
from hpo.train.registries import DATASETS, LOSSES, MODELS, OPTIMIZERS, SCHEDULERS
from hpo.train.routing import datamodule_hyperparameters, model_hyperparameters


def test_registry_lists_and_rejects_unknown_names_with_the_choices():
    reg = Registry(
        "widget",
        {
            "beta": "hpo.train.losses:mse",
            "alpha": ("hpo.train.models.resnet:resnet", {"depth": 18}),
        },
    )
    assert reg.names() == ["alpha", "beta"]
    assert reg.describe() == {
        "alpha": "ResNet-18 transfer learning (seed 002): frozen pretrained base, new head, "
        "fine-tuning.",
        "beta": "Mean squared error between softmax probabilities and one-hot labels.",
    }
    with pytest.raises(UsageError, match="unknown widget 'c'; choose one of: alpha, beta"):
        reg.get("c")
    with pytest.raises(UsageError, match=r"unknown widget 'alpah' \(did you mean 'alpha'\?\)"):
        reg.check("alpah")
    assert "depth" not in reg.parameters("alpha") and reg.parameters("alpha")["head_dim"] == 256
    assert reg.get("beta") is LOSS_FUNCTIONS.mse  # imported on use


@pytest.mark.parametrize(
    "registry", [MODELS, DATASETS, OPTIMIZERS, SAMPLERS, PRUNERS, LOSSES, SCHEDULERS, METRICS]
)
def test_parameters_read_from_source_match_the_imported_signatures(registry):
    """The registry reads names, defaults and docstrings without importing (so bad input is
    refused before torch loads); here they are checked against the imported functions."""
    for name in registry.names():
        factory = registry.get(name)
        bound = getattr(factory, "keywords", {})
        signature = inspect.signature(factory)
        expected = {
            p.name: p.default if p.default is not p.empty else NOT_LITERAL
            for p in signature.parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in bound
        }
        found = registry.parameters(name)
        assert list(found) == list(expected), name
        for key, default in found.items():  # an expression (1 / 12) is not read, only named
            assert default is NOT_LITERAL or default == expected[key], (name, key)
        assert registry.summary(name), f"{name} has no docstring"
    lit = source_parameters("hpo.train.module:LitClassifier")
    init = inspect.signature(LitClassifier.__init__).parameters
    assert lit == {k: v.default for k, v in init.items() if k != "self"} | {
        "net": NOT_LITERAL,
        "num_classes": NOT_LITERAL,
    }


def test_the_issue_lists_are_registered():
    assert {"mnist_cnn", "ethanet"} <= set(MODELS.names())
    assert "digits" in DATASETS
    assert set(SAMPLERS.names()) == {
        "tpe",
        "tpe_multivariate",
        "random",
        "grid",
        "cmaes",
        "qmc",
        "gp",
        "nsga2",
    }
    assert set(PRUNERS.names()) == {"median", "percentile", "hyperband", "asha", "none"}
    assert set(OPTIMIZERS.names()) >= {
        "sgd",
        "momentum",
        "nesterov",
        "adam",
        "adamw",
        "adagrad",
        "adadelta",
        "rmsprop",
    }


@pytest.mark.parametrize("name", ["mnist_cnn", "ethanet"])
@pytest.mark.parametrize("shape", [(1, 8), (1, 28), (3, 32)])
def test_models_map_any_image_shape_to_class_logits(name, shape):
    channels, size = shape
    net = create_model(name, in_channels=channels, num_classes=7, image_size=size)
    assert net(torch.zeros(5, channels, size, size)).shape == (5, 7)


def test_mnist_cnn_has_seed_003s_size_and_width_scales_it():
    one = count_parameters(create_model("mnist_cnn", in_channels=1, num_classes=10, image_size=28))
    four = count_parameters(
        create_model("mnist_cnn", in_channels=1, num_classes=10, image_size=28, width=4)
    )
    assert 3000 < one < 4000  # "about 3,400 weights"
    assert four > 3 * one


def test_ethanet_kernel_size_and_filters_change_the_network():
    small = create_model("ethanet", in_channels=3, num_classes=5, image_size=32, kernel_size=3)
    large = create_model("ethanet", in_channels=3, num_classes=5, image_size=32, kernel_size=7)
    convs = [m for m in large.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [12, 24, 48]
    assert convs[0].kernel_size == (7, 7)
    assert count_parameters(large) > count_parameters(small)


def test_hyperparameter_names_come_from_the_factory_signatures():
    assert model_hyperparameters("ethanet") == {
        "base_filters",
        "kernel_size",
        "hidden",
        "dropout",
        "batch_norm",
    }
    assert "batch_size" in datamodule_hyperparameters("digits")
    assert "seed" not in datamodule_hyperparameters("digits")


def test_digits_split_is_stratified_seeded_and_in_memory():
    dm = create_datamodule("digits", batch_size=50, seed=3)
    dm.setup("fit")
    x, y = dm.splits.train
    assert x.shape[1:] == (1, 8, 8) and x.dtype == torch.float32
    assert len(y) + len(dm.splits.val[1]) + len(dm.splits.test[1]) == 1797
    assert torch.bincount(y).min() >= 100  # every class present in proportion
    assert abs(float(x.mean())) < 1e-4  # standardised with the training statistics
    batches = list(dm.train_dataloader())
    assert len(batches) == len(dm.train_dataloader()) and len(batches[0][1]) == 50
    other = create_datamodule("digits", seed=4)
    other.setup()
    assert not torch.equal(other.splits.train[1], y)


def test_optimizer_rejects_non_positive_lr():
    with pytest.raises(ValueError, match="learning rate must be positive"):
        create_optimizer("adam", [torch.nn.Parameter(torch.zeros(1))], lr=0.0)
