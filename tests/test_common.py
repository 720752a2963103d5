"""scikit-learn's estimator checks, with no xfail."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from aekit import Autoencoder, GaussianNoise, KLSparsity

FAST = dict(max_iter=5, random_state=0)


@parametrize_with_checks(
    [
        Autoencoder(**FAST),
        Autoencoder(constraints=(GaussianNoise(0.1), KLSparsity(target=0.05, weight=1.0)), **FAST),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
