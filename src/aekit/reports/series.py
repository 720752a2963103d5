"""The report of a ``TimeSeriesDetector``: its configuration and training, and with a series the
series with its scores, threshold and flagged spans, the flagged spans as a table (with the
step and channel that drove each), and example windows with their reconstructions (the most
abnormal ones, a typical one)."""

from __future__ import annotations

import warnings

import numpy as np

from .markup import figure, page, png, section, table


def build_report(model, series=None, labels=None, *, ids=None, title="aekit report",
                 max_spans: int = 10, **_unused) -> str:
    """``series``: as ``model.score_samples`` takes it; ``labels``: a boolean per step."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from ..plotting import LossCurveDisplay, TimeSeriesScoreDisplay

    member = model.estimator_
    config = [("model", f"TimeSeriesDetector of {type(member).__name__}"),
              ("window", f"{model.window_} steps"), ("stride", model.stride),
              ("channels", ", ".join(model.channels_)), ("normalize", model.normalize),
              ("step score", model.aggregate), ("threshold", f"{model.threshold_:.5g}"),
              ("code size", member.n_components_), ("epochs run", member.n_iter_),
              ("final training loss", f"{member.loss_curve_[-1]:.5g}"),
              ("precision used", member.precision_)]
    parts = [section("Configuration", table(config)),
             section("Loss curves", figure(png(LossCurveDisplay.from_estimator(member)
                                                .figure_), "loss curves"))]
    if series is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            parts += _series_sections(model, series, labels, max_spans, TimeSeriesScoreDisplay)
    return page(title, parts)


def _series_sections(model, series, labels, max_spans, display_class) -> list[str]:
    display = display_class.from_estimator(model, series, labels)
    scores, time = display.scores, display.time  # time order
    n = len(scores)
    flagged = int((scores > model.threshold_).sum())
    text = (f"<p>{flagged} of {n} steps above the threshold {model.threshold_:.4g}, in "
            f"{len(display.flagged_spans_)} span(s). A step's score is the mean error of the "
            f"{model.window_}-step windows that cover it, in units of the median training "
            "step.</p>")
    parts = [section("Scores over time", figure(png(display.figure_), "series and scores")
                     + text)]
    data = model.time_order(series)
    back = np.argsort(data.order)
    explained = model.explain(series).iloc[back].reset_index(drop=True)  # time order
    rows = []
    spans = sorted(display.flagged_spans_, key=lambda s: -scores[s[0]:s[1]].max())[:max_spans]
    stamp = (lambda i: str(time[i])) if time is not None else (lambda i: str(i))
    for begin, end in spans:
        peak = begin + int(np.argmax(scores[begin:end]))
        cause = int(data.order[explained.top_step[peak]])
        rows.append((stamp(begin), stamp(end - 1), end - begin, f"{scores[peak]:.4g}",
                     stamp(cause), explained.top_channel[peak]))
    if rows:
        parts.append(section("Flagged spans (highest first)", table(
            rows, ("from", "to", "steps", "peak score", "step that drove it", "channel"))))
    parts.append(section("Windows and their reconstructions",
                         figure(png(_window_figure(model, series, scores, n)),
                                "windows and reconstructions")))
    return parts


def _window_figure(model, series, scores, n):
    import matplotlib.pyplot as plt

    w = model.window_
    window_scores = np.convolve(scores, np.ones(w) / w, mode="valid")  # by start, time order
    worst = int(np.argmax(window_scores))
    typical = int(np.argsort(window_scores)[len(window_scores) // 2])
    picks = [(worst, "most abnormal window"), (typical, "a typical window")]
    windows, recon = model.reconstruct_windows(series, [p for p, _ in picks])
    figure, axes = plt.subplots(1, len(picks), figsize=(10, 3), squeeze=False)
    for ax, (start, label), original, rebuilt in zip(axes[0], picks, windows, recon):
        steps = np.arange(start, start + w)
        for c in range(original.shape[0]):
            ax.plot(steps, original[c], lw=1, label=f"{model.channels_[c]}")
            ax.plot(steps, rebuilt[c], lw=1, ls="--", label=f"{model.channels_[c]} rebuilt")
        ax.set_title(f"{label} (steps {start}-{start + w - 1})", fontsize="small")
        ax.set_xlabel("step")
    axes[0][0].legend(fontsize="x-small")
    figure.tight_layout()
    return figure
