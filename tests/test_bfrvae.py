"""BFR-VAE (Ding, Thakur and Li): the Normal-Gamma KL, the triplet hinge, conformance, the fitted
cache, open-world confidence, and the sine-wave simulation of §4."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganprint.plugins.bfrvae.analysis import FingerprintSpace, compare
from ganprint.plugins.bfrvae.attributor import BFRVAEAttributor
from ganprint.plugins.bfrvae.model import Posterior, triplet_loss
from ganprint.plugins.bfrvae.simulation import simulated_sources
from ganprint.testing import check_detector, synthetic_sources

TINY = dict(width=8, latent_dim=16, max_epochs=4, batch_size=32)
SIMULATION = dict(width=16, latent_dim=32, max_epochs=10)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))
    torch.set_num_threads(1)


def test_kl_to_prior_matches_monte_carlo():
    from torch.distributions import Gamma, Normal

    from ganprint.plugins.bfrvae import model

    g = torch.Generator().manual_seed(0)
    shape = (1, 3)
    posterior = Posterior(torch.randn(shape, generator=g), 0.5 + torch.rand(shape, generator=g),
                          1.5 + torch.rand(shape, generator=g), 0.5 + torch.rand(shape, generator=g))
    torch.manual_seed(0)
    n = 200_000
    sigma = Gamma(posterior.alpha, posterior.beta).sample((n,))
    mu = Normal(posterior.mu_t, (posterior.n_t * sigma).rsqrt()).sample()
    log_q = (Gamma(posterior.alpha, posterior.beta).log_prob(sigma)
             + Normal(posterior.mu_t, (posterior.n_t * sigma).rsqrt()).log_prob(mu))
    prior_gamma = Gamma(torch.tensor(model.PRIOR_SHAPE), torch.tensor(model.PRIOR_RATE))
    log_p = prior_gamma.log_prob(sigma) + Normal(0.0, (model.PRIOR_KAPPA * sigma).rsqrt()).log_prob(mu)
    monte_carlo = (log_q - log_p).mean(0).sum()
    assert posterior.kl_to_prior().item() == pytest.approx(monte_carlo.item(), rel=0.03, abs=0.01)


def test_triplet_hinge_is_zero_only_when_sources_are_apart():
    labels = torch.tensor([0, 0, 1, 1])
    apart = torch.tensor([[0.0], [0.1], [10.0], [10.1]])
    mixed = torch.tensor([[0.0], [10.0], [0.1], [10.1]])
    assert triplet_loss([apart], labels, margin=1.0).item() == 0.0
    assert triplet_loss([mixed], labels, margin=1.0).item() > 1.0
    assert triplet_loss([apart], torch.tensor([0, 0, 0, 0]), margin=1.0).item() == 0.0



def test_triplet_hinge_counted_by_hand():
    """1-D fingerprints a=0, b=1 (source 0), c=3 (source 1); squared distances ab=1, ac=9, bc=4.
    Valid triplets (anchor, positive, negative): (a, b, c) and (b, a, c); source 1 has no positive.
    Margin 5: max(0, 1 - 9 + 5) = 0 and max(0, 1 - 4 + 5) = 2, mean 1.0; two parts give 2.0."""
    labels = torch.tensor([0, 0, 1])
    points = torch.tensor([[0.0], [1.0], [3.0]])
    assert triplet_loss([points], labels, margin=5.0).item() == pytest.approx(1.0)
    assert triplet_loss([points, points], labels, margin=5.0).item() == pytest.approx(2.0)


@pytest.mark.parametrize("ties", [False, True])
def test_triplet_hinge_equals_the_mean_over_every_triplet(ties):
    """The sorted-prefix sums equal the mean hinge over every triplet listed one by one, value and
    gradient; with integer points many hinges are exactly zero (d(a, q) + 1 = d(a, r))."""
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (13,), generator=g)
    parts = [torch.randn(13, 4, generator=g) for _ in range(2)]
    if ties:
        parts = [torch.randint(0, 3, (13, 1), generator=g).float() for _ in range(2)]
    parts = [p.requires_grad_() for p in parts]
    expected = 0.0
    for p in parts:
        d = torch.cdist(p, p).pow(2)
        hinges = [torch.relu(d[a, q] - d[a, r] + 1.0) for a in range(13) for q in range(13) for r in range(13)
                  if q != a and labels[q] == labels[a] and labels[r] != labels[a]]
        expected = expected + torch.stack(hinges).mean()
    expected_grads = torch.autograd.grad(expected, parts)
    loss = triplet_loss(parts, labels, margin=1.0)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    for got, want in zip(torch.autograd.grad(loss, parts), expected_grads):
        torch.testing.assert_close(got, want)

def test_conformance():
    check_detector(lambda: BFRVAEAttributor(**TINY))


def test_other_image_sizes():
    X, y = synthetic_sources(6, image_size=16, seed=2)
    mu, sigma = BFRVAEAttributor(**{**TINY, "max_epochs": 1}).fit(X, y).fingerprints(X)
    assert mu.shape == sigma.shape == (len(X), TINY["latent_dim"])
    with pytest.raises(ValueError, match="power-of-two"):
        BFRVAEAttributor(**TINY).fit(np.zeros((6, 24, 24, 3), np.uint8), y[:6])


def test_cache_reloads_the_same_model():
    X, y = synthetic_sources(12, seed=3)
    first = BFRVAEAttributor(**TINY).fit(X, y)
    second = BFRVAEAttributor(**TINY).fit(X, y)
    np.testing.assert_allclose(first.fingerprints(X)[0], second.fingerprints(X)[0], atol=1e-6)
    assert first.history_ == second.history_
    uncached = BFRVAEAttributor(**{**TINY, "cache": False, "random_state": 1}).fit(X, y)
    assert not np.allclose(first.fingerprints(X)[0], uncached.fingerprints(X)[0])


def test_fine_tune_continues_from_the_fitted_model():
    X, y = synthetic_sources(12, seed=3)
    method = BFRVAEAttributor(**TINY, fine_tune_epochs=2).fit(X, y)
    clean_key, before = method.fit_key_, method.means_.copy()
    assert BFRVAEAttributor(**TINY, fine_tune_epochs=1).fit(X, y).fit_key_ == clean_key
    assert method.fine_tune(255 - X, y) is method
    assert len(method.history_["losses"]) <= 2 and method.fit_key_ != clean_key
    assert not np.allclose(before, method.means_)
    fresh = BFRVAEAttributor(**{**TINY, "max_epochs": 2}).fit(255 - X, y)
    assert not np.allclose(fresh.fingerprints(X)[0], method.fingerprints(X)[0])
    with pytest.raises(ValueError, match="not among"):
        method.fine_tune(X, np.where(y == "real", "other", y))


def test_unseen_orientation_gets_lower_confidence():
    """Open world: trained on two sine orientations, crops of the third are less likely under both."""
    from sklearn.metrics import roc_auc_score

    X, y = simulated_sources(60, seed=0)
    X_test, y_test = simulated_sources(40, seed=1)
    known = y != "set2"
    model = BFRVAEAttributor(**SIMULATION).fit(X[known], y[known])
    assert roc_auc_score(y_test != "set2", model.confidence(X_test)) > 0.7


def test_simulation_recovers_three_sine_fingerprints():
    """§4: three sets of photo crops, each with a sine wave of its own orientation; the μ′ of held-out
    crops are attributed to their set and the sets' μ′ distributions are far apart."""
    X, y = simulated_sources(60, seed=0)
    X_test, y_test = simulated_sources(40, seed=1)
    model = BFRVAEAttributor(**SIMULATION).fit(X, y)
    assert (model.predict(X_test) == y_test).mean() > 0.9
    train_mu, test_mu = model.fingerprints(X)[0], model.fingerprints(X_test)[0]
    sets = sorted(set(y))
    space = FingerprintSpace({s: train_mu[y == s] for s in sets}, n_components=2)
    jsd, _ = compare(space, {s: test_mu[y_test == s] for s in sets}, {s: train_mu[y == s] for s in sets})
    own, other = np.diag(jsd), jsd[~np.eye(len(sets), dtype=bool)]
    assert own.max() < other.min()


def test_score_orders_images_as_one_minus_p_real_but_does_not_saturate():
    X, y = synthetic_sources(12, seed=3)
    method = BFRVAEAttributor(**TINY).fit(X, y)
    score = method.score(X)
    p_real = method.predict_proba(X)[:, list(method.classes_).index("real")]
    unsaturated = (p_real > 1e-6) & (p_real < 1 - 1e-6)
    assert unsaturated.sum() >= 2
    order = np.argsort(score[unsaturated])
    assert np.all(np.diff((1 - p_real[unsaturated])[order]) >= -1e-9)
    # where 1 − P(real) has rounded to exactly 1, the log-odds still tell the images apart
    method.variances_ = method.variances_ / 1e4
    saturated = method.predict_proba(X)[:, list(method.classes_).index("real")] == 0
    assert saturated.sum() >= 2
    assert len(np.unique(method.score(X)[saturated])) == saturated.sum()
    # without a real class: the log of the largest source probability, as the default's max probability
    method.variances_ = method.variances_ * 1e4
    method.classes_ = np.array([f"gan{i}" for i in range(len(method.classes_))])
    np.testing.assert_allclose(method.score(X), np.log(method.predict_proba(X).max(axis=1)), atol=1e-6)
