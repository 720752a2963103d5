"""Searching over constraints with scikit-learn's GridSearchCV/RandomizedSearchCV."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from aekit import Autoencoder, GaussianNoise, KLSparsity, MaskingNoise
from aekit.datasets import load_digits

FAST = dict(hidden_layer_sizes=(32,), max_iter=20, batch_size=32, learning_rate_init=0.01,
            scaling="none", random_state=0)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny problems: on a busy machine, extra threads spin at barriers (10x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):  # BLAS and OpenMP (t-SNE)
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_y=True)
    return X[:300], y[:300]


def test_grid_search_over_constraints_picks_the_sensible_model(digits):
    X, _ = digits
    noise = GaussianNoise(0.1)
    grid = {
        "n_components": [2, 16],
        "constraints": [(), (noise,), (GaussianNoise(3.0),)],
    }
    search = GridSearchCV(Autoencoder(**FAST), grid, cv=2).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 6 and np.all(np.isfinite(scores)) and np.all(scores < 0)
    # the score is the negative held-out reconstruction error: a 16-unit code beats a 2-unit
    # one, with or without mild noise, and drowning the input in noise (std 3 on [0, 1] pixels)
    # is the worst choice at either size
    by_params = {(p["n_components"], repr(p["constraints"])): s
                 for p, s in zip(search.cv_results_["params"], scores)}
    for constraints in ("()", repr((noise,))):
        assert by_params[(16, constraints)] > by_params[(2, constraints)]
    for k in (2, 16):
        assert by_params[(k, repr((GaussianNoise(3.0),)))] == min(
            v for (kk, _), v in by_params.items() if kk == k)
    assert search.best_params_["n_components"] == 16
    assert search.best_params_["constraints"] != (GaussianNoise(3.0),)
    # the refitted model holds its own copies; the grid's objects are untouched
    fitted = search.best_estimator_.constraints_
    assert all(c is not noise for c in fitted)
    assert noise.std == 0.1 and not hasattr(noise, "_running")


def test_randomized_search_samples_constraint_tuples(digits):
    X, _ = digits
    space = {
        "constraints": [(GaussianNoise(0.2),), (MaskingNoise(0.3),),
                        (KLSparsity(0.05), GaussianNoise(0.1))],
        "n_components": [8, 12],
    }
    search = RandomizedSearchCV(Autoencoder(**FAST), space, n_iter=2, cv=2, random_state=0)
    search.fit(X)
    assert len(search.cv_results_["params"]) == 2
    assert search.best_estimator_.n_components_ in (8, 12)
    assert np.isfinite(search.best_score_)


def test_pipeline_search_tunes_the_code_for_a_classifier(digits):
    X, y = digits
    ae = Autoencoder(constraints=(GaussianNoise(0.1),), **FAST)
    pipe = Pipeline([("ae", ae), ("clf", LogisticRegression(max_iter=500))])
    grid = {"ae__n_components": [2, 16]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    # accuracy, not reconstruction, chooses here: 2 code units cannot separate ten digits
    assert search.best_params_["ae__n_components"] == 16
    assert search.best_score_ > 0.6
