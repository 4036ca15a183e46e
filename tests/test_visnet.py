"""visNet (Yu et al. 2019 §3.3): conformance, fingerprint shapes, attribution by correlation with
the model fingerprints on held-out images, determinism, and the plugin's registration."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ganprint.registry import load_registry
from ganprint.testing import check_detector, synthetic_sources
from ganprint.training import stratified_validation
from ganprint.plugins.visnet.attributor import VisNetAttributor
from ganprint.plugins.visnet.network import correlation

SMALL = dict(width=8, batch_size=16, cache=False)


@pytest.fixture(scope="module")
def fitted() -> tuple[VisNetAttributor, np.ndarray, np.ndarray]:
    torch.set_num_threads(1)
    X, y = synthetic_sources(24, 32, n_generated=2, seed=0)
    model = VisNetAttributor(max_epochs=12, **SMALL).fit(X, y)
    X_test, y_test = synthetic_sources(12, 32, n_generated=2, seed=1)
    return model, X_test, y_test


def test_conformance() -> None:
    check_detector(lambda: VisNetAttributor(max_epochs=2, **SMALL), n_per_source=12)


def test_fingerprints_have_the_image_shape(fitted) -> None:
    model, X, _ = fitted
    image_fp = model.image_fingerprints(X[:5])
    assert image_fp.shape == X[:5].shape and image_fp.dtype == np.float32
    model_fp = model.model_fingerprints()
    assert model_fp.shape == (len(model.classes_),) + X.shape[1:]


def test_fingerprints_follow_the_image_size() -> None:
    X, y = synthetic_sources(4, 16, n_generated=1, seed=5)
    model = VisNetAttributor(max_epochs=1, **SMALL).fit(X, y)
    assert model.image_fingerprints(X).shape == X.shape
    assert model.model_fingerprints().shape == (2, 16, 16, 3)
    with pytest.raises(ValueError):
        model.image_fingerprints(synthetic_sources(2, 32, n_generated=1)[0])


def test_image_fingerprint_is_the_reconstruction_residual(fitted) -> None:
    model, X, _ = fitted
    x = torch.from_numpy(X[:4]).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        expected = (model.model_.reconstructor(x) - x).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(model.image_fingerprints(X[:4]), expected, atol=1e-5)


def test_model_fingerprint_responds_most_to_its_own_source_on_held_out_images(fitted) -> None:
    model, X, y = fitted
    responses = model.responses(X)
    assert responses.shape == (len(X), len(model.classes_))
    assert np.all(np.abs(responses) <= 1 + 1e-6)
    mean = np.stack([responses[y == source].mean(axis=0) for source in model.classes_])
    assert np.array_equal(mean.argmax(axis=1), np.arange(len(model.classes_))), mean
    assert (model.predict(X) == y).mean() > 0.8


def test_own_source_check_fails_when_fingerprints_are_learned_for_other_sources() -> None:
    """The check above can fail: trained with every label moved to the next source, each model
    fingerprint responds most to the held-out images of the source it was trained on, not its name."""
    X, y = synthetic_sources(24, 32, n_generated=2, seed=0)
    sources = np.unique(y)
    moved = dict(zip(sources, np.roll(sources, 1)))
    model = VisNetAttributor(max_epochs=12, **SMALL).fit(X, np.array([moved[s] for s in y]))
    X_test, y_test = synthetic_sources(12, 32, n_generated=2, seed=1)
    responses = model.responses(X_test)
    mean = np.stack([responses[y_test == source].mean(axis=0) for source in model.classes_])
    assert not np.array_equal(mean.argmax(axis=1), np.arange(len(sources))), mean
    generated = [i for i, s in enumerate(model.classes_) if s != "real"]  # real images carry no pattern
    assert [model.classes_[mean[i].argmax()] for i in generated] == [moved[model.classes_[i]] for i in generated], mean


def test_same_seed_same_fingerprints() -> None:
    X, y = synthetic_sources(8, 16, n_generated=1, seed=2)
    runs = [VisNetAttributor(max_epochs=2, **SMALL).fit(X, y) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].model_fingerprints(), runs[1].model_fingerprints())
    np.testing.assert_array_equal(runs[0].image_fingerprints(X), runs[1].image_fingerprints(X))
    other = VisNetAttributor(max_epochs=2, random_state=1, **SMALL).fit(X, y)
    assert not np.array_equal(other.model_fingerprints(), runs[0].model_fingerprints())


def test_correlation_is_the_normalised_inner_product() -> None:
    a, b = torch.randn(3, 3, 4, 4), torch.randn(2, 3, 4, 4)
    c = correlation(a, b).numpy()
    expected = np.corrcoef(a.flatten(1).numpy(), b.flatten(1).numpy())[:3, 3:]
    np.testing.assert_allclose(c, expected, atol=1e-5)
    np.testing.assert_allclose(correlation(5 * a + 2, a).diagonal().numpy(), 1.0, atol=1e-5)


def test_validation_part_is_per_source_and_seeded() -> None:
    labels = np.array(["real"] * 10 + ["gen0"] * 5 + ["gen1"])
    is_val = stratified_validation(labels, 0.2, seed=0)
    assert sorted(labels[is_val].tolist()) == ["gen0", "real", "real"]
    assert np.array_equal(is_val, stratified_validation(labels, 0.2, seed=0))
    assert not stratified_validation(labels, 0.0, seed=0).any()


def test_rejects_sides_the_autoencoder_cannot_reconstruct() -> None:
    X, y = synthetic_sources(4, 16, n_generated=1)
    with pytest.raises(ValueError, match="divisible"):
        VisNetAttributor(depth=5, **SMALL).fit(X, y)


def test_fitted_weights_come_back_from_the_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path))
    X, y = synthetic_sources(6, 16, n_generated=1, seed=3)
    params = dict(SMALL, cache=True, max_epochs=1)
    first = VisNetAttributor(**params).fit(X, y)
    second = VisNetAttributor(**params).fit(X, y)
    assert not first.cache_hit_ and second.cache_hit_
    assert second.history_ == first.history_
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    np.testing.assert_array_equal(first.model_fingerprints(), second.model_fingerprints())
    other_data = VisNetAttributor(**params).fit(X[::-1].copy(), y[::-1].copy())
    assert not other_data.cache_hit_


@pytest.mark.filterwarnings("ignore:You are using the legacy TorchScript-based ONNX export")
def test_onnx_export_gives_predict_proba(fitted, tmp_path) -> None:
    pytest.importorskip("onnxruntime")
    from ganprint.onnx_export import export_method, run_onnx

    model, X, _ = fitted
    path = export_method(model, X[:2], tmp_path / "visnet.onnx")
    np.testing.assert_allclose(run_onnx(path, X), model.predict_proba(X), atol=1e-4)


def test_fine_tune_continues_from_the_fitted_network() -> None:
    X, y = synthetic_sources(8, 16, n_generated=1, seed=4)
    method = VisNetAttributor(max_epochs=1, **SMALL).fit(X, y)
    before = method.model_fingerprints()
    assert method.fine_tune(255 - X, y) is method
    assert list(method.classes_) == ["gen0", "real"]
    assert not np.array_equal(before, method.model_fingerprints())
    with pytest.raises(ValueError, match="not among"):
        method.fine_tune(X, np.where(y == "real", "other", y))


def test_registered_as_visnet() -> None:
    registry = load_registry()
    assert isinstance(registry.get("detectors", "visnet").factory(), VisNetAttributor)
