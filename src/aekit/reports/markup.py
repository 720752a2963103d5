"""The HTML pieces of the reports: figures as embedded PNG URIs, tables, sections."""

from __future__ import annotations

import base64
import html
import io
from typing import Any


def png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def table(rows: list[tuple[str, Any]], header: tuple[str, ...] | None = None) -> str:
    def cells(row, tag):
        return "".join(f"<{tag}>{html.escape(str(v))}</{tag}>" for v in row)

    head = f"<tr>{cells(header, 'th')}</tr>" if header else ""
    if header:
        body = "".join(f"<tr>{cells(r, 'td')}</tr>" for r in rows)
    else:
        body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                       for k, v in rows)
    return f"<table>{head}{body}</table>"


def section(title: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{body}</section>"


def figure(src: str, alt: str) -> str:
    return f'<img src="{src}" alt="{html.escape(alt)}">'


def page(title: str, parts: list[str]) -> str:
    """A whole HTML page of ``parts`` (sections)."""
    style = ("body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:3px 8px;"
             "text-align:left;font-size:90%}img{max-width:100%}h2{border-bottom:1px solid #ddd}")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
            f"{html.escape(title)}</title><style>{style}</style></head><body><h1>"
            f"{html.escape(title)}</h1>{''.join(parts)}</body></html>")
