"""Line plots of a lesson's numbers: SVG for the browser, PNG for the lesson folder (matplotlib,
its object API without pyplot, so plots can be drawn from several threads)."""

from __future__ import annotations

import io
from dataclasses import dataclass


@dataclass
class Plot:
    title: str
    x_label: str
    y_label: str
    series: dict[str, tuple[list, list]]  # name -> (xs, ys)
    log_y: bool = False
    log_x: bool = False

    def data(self) -> dict:
        return {"title": self.title, "x": self.x_label, "y": self.y_label,
                "series": {name: {"x": list(xs), "y": list(ys)} for name, (xs, ys) in self.series.items()}}

    def svg(self) -> str:
        return self._render("svg").decode()

    def png(self) -> bytes:
        return self._render("png")

    def _render(self, kind: str) -> bytes:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6.4, 3.6), dpi=100)
        axes = figure.add_subplot()
        for name, (xs, ys) in self.series.items():
            axes.plot(xs, ys, marker="o" if len(xs) <= 20 else None, markersize=4, label=name)
        axes.set(title=self.title, xlabel=self.x_label, ylabel=self.y_label)
        if self.log_y:
            axes.set_yscale("log")
        if self.log_x:
            from matplotlib.ticker import NullFormatter, ScalarFormatter

            axes.set_xscale("log")
            axes.set_xticks(sorted({x for xs, _ in self.series.values() for x in xs}))
            axes.xaxis.set_major_formatter(ScalarFormatter())
            axes.xaxis.set_minor_formatter(NullFormatter())
        axes.grid(True, alpha=0.3)
        if len(self.series) > 1:
            axes.legend(fontsize="small")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format=kind, metadata={"Date": None} if kind == "svg" else None)
        return buffer.getvalue()
