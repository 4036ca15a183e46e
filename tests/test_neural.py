"""ganprint.neural.NeuralAttributor: one set of training parameters, one history and key shape,
networks rebuilt from what the fit recorded, and the same data checks for cnn, visnet and bfrvae."""
from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
import torch
from sklearn.base import clone

from ganprint.neural import NeuralAttributor
from ganprint.plugins.bfrvae.attributor import BFRVAEAttributor
from ganprint.plugins.cnn.attributor import CNNAttributor
from ganprint.plugins.visnet.attributor import VisNetAttributor
from ganprint.testing import synthetic_sources
from ganprint.training import torch_threads

SHARED = {"batch_size", "learning_rate", "max_epochs", "patience", "fine_tune_epochs", "validation_fraction",
          "random_state", "precision", "cache", "progress"}
TINY = {
    CNNAttributor: dict(width=4, max_channels=8, max_epochs=2),
    VisNetAttributor: dict(width=4, max_epochs=2),
    BFRVAEAttributor: dict(width=4, latent_dim=8, max_epochs=2),
}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))
    with torch_threads(1):
        yield


@pytest.mark.parametrize("cls", list(TINY))
def test_one_set_of_training_parameters(cls) -> None:
    params = cls().get_params()
    assert SHARED <= set(params)
    assert params["progress"] is False and params["cache"] is True and params["random_state"] == 0
    assert params["precision"] == "float32"
    assert issubclass(cls, NeuralAttributor)
    assert "val_fraction" not in inspect.signature(cls).parameters


@pytest.mark.parametrize("cls", list(TINY))
def test_fit_records_history_key_and_network_arguments(cls) -> None:
    X, y = synthetic_sources(6, 16, n_generated=1)
    method = cls(**TINY[cls], cache=False).fit(X, y)
    assert set(method.history_) == {"epochs", "best_epoch", "stopped_early", "val_scores", "losses"}
    assert method.history_["epochs"] == len(method.history_["losses"]) <= 2
    assert len(method.fit_key_) == 16 and method.cache_hit_ is False
    assert method.image_shape_ == (16, 16) and list(method.classes_) == ["gen0", "real"]
    arguments = json.loads(json.dumps(method.network_arguments_))
    rebuilt = method._build_network(arguments)
    rebuilt.load_state_dict(method.model_.state_dict())
    rebuilt.eval()
    x = torch.from_numpy(X[:4]).permute(0, 3, 1, 2).float() / 127.5 - 1
    outputs = []
    for network in (method.model_, rebuilt):
        torch.manual_seed(0)  # bfrvae's forward draws from its posterior
        with torch.no_grad():
            out = network(x)
        outputs.append([t for t in (out if isinstance(out, tuple) else [out]) if isinstance(t, torch.Tensor)])
    assert outputs[0] and all(torch.equal(a, b) for a, b in zip(*outputs))


@pytest.mark.parametrize("cls", list(TINY))
def test_training_data_and_fine_tune_images_are_checked(cls) -> None:
    X, y = synthetic_sources(6, 16, n_generated=1)
    with pytest.raises(ValueError, match="uint8"):
        cls(**TINY[cls], cache=False).fit(X.astype(np.float32), y)
    with pytest.raises(ValueError, match="labels"):
        cls(**TINY[cls], cache=False).fit(X, y[:-1])
    method = cls(**TINY[cls], cache=False).fit(X, y)
    with pytest.raises(ValueError, match="fitted on 16x16"):
        method.fine_tune(synthetic_sources(6, 32, n_generated=1)[0], y)
    with pytest.raises(ValueError, match="fitted on 16x16"):
        method.predict_proba(synthetic_sources(2, 32, n_generated=1)[0])


def test_clone_of_a_fitted_attributor_refits_to_the_same_weights_and_set_params_changes_the_key() -> None:
    X, y = synthetic_sources(6, 16, n_generated=1)
    method = CNNAttributor(**TINY[CNNAttributor]).fit(X, y)
    copy = clone(method)
    assert not hasattr(copy, "model_") and copy.get_params() == method.get_params()
    copy.fit(X, y)
    assert copy.cache_hit_ and copy.fit_key_ == method.fit_key_
    np.testing.assert_array_equal(copy.predict_proba(X), method.predict_proba(X))
    assert copy.set_params(progress=True).fit(X, y).fit_key_ == method.fit_key_
    assert copy.set_params(max_epochs=1).fit(X, y).fit_key_ != method.fit_key_


@pytest.mark.parametrize("cls", list(TINY))
def test_bf16_precision_is_keyed_deterministic_and_keeps_float32_weights(cls) -> None:
    from ganprint.fitted_cache import fitted_key

    X, y = synthetic_sources(6, 16, n_generated=1)
    plain = cls(**TINY[cls]).fit(X, y)
    params = {k: v for k, v in plain.get_params(deep=False).items() if k not in cls.NOT_IN_KEY and k != "precision"}
    # float32 is left out of the key: fits cached before the parameter existed are still found
    assert plain.fit_key_ == fitted_key(cls.plugin_id, {**params, "training_version": cls.training_version}, X, y, None)
    fast = cls(**TINY[cls], precision="bf16").fit(X, y)
    assert fast.cache_hit_ is False and fast.fit_key_ != plain.fit_key_
    assert all(p.dtype == torch.float32 for p in fast.model_.parameters())
    assert any(p.ndim == 4 and p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous()
               for p in fast.model_.parameters())
    proba = fast.predict_proba(X)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    again = cls(**TINY[cls], precision="bf16", cache=False).fit(X, y)
    assert all(torch.equal(a, b) for a, b in zip(fast.model_.state_dict().values(), again.model_.state_dict().values()))
    assert cls(**TINY[cls], precision="bf16").fit(X, y).cache_hit_ is True
    with pytest.raises(ValueError, match="precision"):
        cls(**TINY[cls], precision="float16").fit(X, y)
