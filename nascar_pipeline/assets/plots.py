"""The one way an asset puts a plot in its metadata: a small PNG inlined in markdown.

fig, ax = new_figure((6, 2.6))
...
metadata["trace"] = image_markdown(fig, "trace")
"""

import base64
import io

from dagster import MetadataValue

DPI = 80  # small enough for the run page, legible at the sizes the assets use


def new_figure(figsize: tuple[float, float]):
    """(figure, axes) on the Agg backend: no display needed on a run worker."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize, dpi=DPI)


def png_base64(fig) -> str:
    """The figure, laid out tight, as base64 PNG; the figure is closed."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def image_markdown(fig, alt: str) -> MetadataValue:
    """The figure as a markdown metadata value (an inline PNG)."""
    return MetadataValue.md(f"![{alt}](data:image/png;base64,{png_base64(fig)})")
