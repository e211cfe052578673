"""Real CIFAR-10 images (../shared/data/cifar10_subset.npz): the harness really learns.

Measured on the development CPU (2 cores, torch 2.12): after 15 epochs VGG-19 at 1/8
width reaches 56.7% dense and 55.4% with FGGP at 90% sparsity (chance is 10%). The
bounds below leave room for other CPUs' arithmetic but would catch a broken pipeline.
"""

from __future__ import annotations

import pytest

from benchmark.config import RunConfig
from benchmark.train import train
from tests.support import assert_exact_sparsity


@pytest.fixture
def real(subset_path) -> RunConfig:
    return RunConfig(arch="vgg19", width=0.125, dataset=f"npz:{subset_path}", epochs=15)


def test_dense_vgg19_reaches_a_sensible_accuracy(real):
    result = train(real.replace(method="dense", target_sparsity=0.0))
    assert result["data"]["n_train"] == 5085 and result["data"]["n_test"] == 1017
    assert result["final"]["test_acc"] >= 45.0


def test_fggp_at_90_percent_stays_close(real):
    result = train(real.replace(method="fggp", target_sparsity=0.9))
    assert_exact_sparsity(result, 0.9)
    assert result["final"]["test_acc"] >= 40.0
