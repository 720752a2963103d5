"""One self-contained HTML report of a fitted model or detector (figures embedded as PNG URIs).

``build_report`` picks the report by the model: ``rows`` for the models of rows (tables,
images: autoencoders and ``OutlierDetector``), ``series`` for ``TimeSeriesDetector``.
"""

from __future__ import annotations


def build_report(model, X=None, y=None, **kwargs) -> str:
    """The report as an HTML string (see ``rows.build_report`` and ``series.build_report``)."""
    if hasattr(model, "window_") and hasattr(model, "channels_"):
        from .series import build_report as series_report

        return series_report(model, X, y, **kwargs)
    from .rows import build_report as rows_report

    return rows_report(model, X, y, **kwargs)


def write_report(path, model, X=None, y=None, **kwargs) -> None:
    """Write ``build_report(...)`` to ``path`` atomically."""
    from ..atomic import atomic_write_bytes

    atomic_write_bytes(path, build_report(model, X, y, **kwargs).encode("utf-8"))


__all__ = ["build_report", "write_report"]
