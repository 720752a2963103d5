"""The report's section on a variational code: KL per code unit (collapsed units flagged) and,
for images, a grid of samples decoded from the prior."""

from __future__ import annotations

import numpy as np

from .markup import figure, png, section, table

#: a unit whose mean KL to the prior is below this carries (almost) no information on x
COLLAPSED_NATS = 0.01


def variational_section(ae, X_network, shape) -> str:
    """``ae``: a fitted variational autoencoder; ``X_network``: rows as ``ae`` takes them;
    ``shape``: the image shape (C, H, W) or None for tables."""
    kl = ae.kl_per_unit(X_network)
    collapsed = int((kl < COLLAPSED_NATS).sum())
    rows = [(f"unit {j}", f"{v:.3f}" + (" (collapsed)" if v < COLLAPSED_NATS else ""))
            for j, v in enumerate(kl)]
    body = (f"<p>Mean KL(q(z_j|x) || N(0, 1)) per code unit, in nats, over the report's rows. "
            f"{collapsed} of {len(kl)} units are below {COLLAPSED_NATS} nats: the prior "
            "swallowed them (posterior collapse); they carry no information about x.</p>"
            + table(rows, ("code unit", "KL, nats")))
    if ae.loss == "mse":
        learned = hasattr(ae.module_.bottleneck, "output_log_var")
        body += (f"<p>Decoder: a Gaussian of variance {ae.output_variance_:.4g} per entry in the "
                 f"model's scaled space ({'learned in training' if learned else 'fixed'}).</p>")
    if shape:
        body += figure(png(_samples_grid(ae, tuple(shape))),
                       "16 samples decoded from the prior")
    return section("Variational code", body)


def _samples_grid(ae, shape):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = np.asarray(ae.sample(16, random_state=0)).reshape(16, *shape)
    fig, axes = plt.subplots(2, 8, figsize=(8, 2.2))
    for ax, image in zip(axes.ravel(), samples):
        ax.imshow(image[0] if shape[0] == 1 else np.moveaxis(image, 0, -1).clip(0, 1),
                  cmap="gray" if shape[0] == 1 else None, vmin=0, vmax=1)
        ax.axis("off")
    fig.suptitle("Samples from the prior")
    return fig
