"""Plots of autoencoders, scikit-learn Display style (matplotlib is imported on first use).

Every display is made by ``XxxDisplay.from_estimator(estimator, X, ...)`` (or from plain
arrays: ``from_predictions``/``from_scores``), draws at once, and keeps ``figure_`` and its
axes (``ax_``; ``axes_`` for the image grid) for further styling; ``plot(...)`` redraws.

- :class:`LossCurveDisplay`: training/validation loss per epoch (and greedy pretraining);
- :class:`ReconstructionDisplay`: originals vs reconstructions (or noisy vs denoised);
- :class:`CodeMapDisplay`: a t-SNE map of the codes, coloured by label;
- :class:`ScoreHistogramDisplay`: anomaly scores with the detector's threshold;
- :class:`CodeActivationDisplay`: mean activation per code unit against the sparsity target;
- :class:`TimeSeriesScoreDisplay`: a series with its per-step scores and flagged spans.
"""

from .codes import CodeActivationDisplay, CodeMapDisplay
from .loss import LossCurveDisplay
from .reconstruction import ReconstructionDisplay
from .scores import ScoreHistogramDisplay
from .series import TimeSeriesScoreDisplay

__all__ = [
    "CodeActivationDisplay",
    "CodeMapDisplay",
    "LossCurveDisplay",
    "ReconstructionDisplay",
    "ScoreHistogramDisplay",
    "TimeSeriesScoreDisplay",
]
