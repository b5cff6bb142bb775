"""Line plots of a lesson's numbers: SVG for the browser, PNG for the lesson folder (matplotlib,
its object API without pyplot, so plots can be drawn from several threads)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field


@dataclass
class Plot:
    title: str
    x_label: str
    y_label: str
    series: dict[str, tuple[list, list]]  # name -> (xs, ys)
    log_y: bool = False
    log_x: bool = False
    bands: dict[str, tuple[list, list]] = field(default_factory=dict)  # series name -> (lows, highs): its interval

    def data(self) -> dict:
        return {"title": self.title, "x": self.x_label, "y": self.y_label,
                "series": {name: {"x": list(xs), "y": list(ys)} for name, (xs, ys) in self.series.items()},
                "bands": {name: {"low": list(lo), "high": list(hi)} for name, (lo, hi) in self.bands.items()}}

    def svg(self) -> str:
        return self._render("svg").decode()

    def png(self) -> bytes:
        return self._render("png")

    def _render(self, kind: str) -> bytes:
        from matplotlib.figure import Figure

        from matplotlib.ticker import MaxNLocator

        figure = Figure(figsize=(6.4, 3.6 + 0.1 * len(self.series)), dpi=100, layout="constrained")
        axes = figure.add_subplot()
        for name, (xs, ys) in self.series.items():
            line, = axes.plot(xs, ys, marker="o" if len(xs) <= 20 else None, markersize=4, label=name)
            if name in self.bands:
                axes.fill_between(xs, *self.bands[name], color=line.get_color(), alpha=0.2, linewidth=0)
        axes.set(title=self.title, xlabel=self.x_label, ylabel=self.y_label)
        if self.log_y:
            axes.set_yscale("log")
        if self.log_x:
            from matplotlib.ticker import NullFormatter, ScalarFormatter

            axes.set_xscale("log")
            axes.set_xticks(sorted({x for xs, _ in self.series.values() for x in xs}))
            axes.xaxis.set_major_formatter(ScalarFormatter())
            axes.xaxis.set_minor_formatter(NullFormatter())
        elif all(float(x).is_integer() for xs, _ in self.series.values() for x in xs):
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps, timesteps: no 2.5
        axes.grid(True, alpha=0.3)
        if len(self.series) > 1:  # below the axes, where it hides no line
            longest = max(map(len, self.series))
            columns = 1 if longest > 48 else 2 if longest > 24 else 3
            figure.legend(loc="outside lower center", ncols=min(columns, len(self.series)), fontsize="small")
        buffer = io.BytesIO()
        figure.savefig(buffer, format=kind, metadata={"Date": None} if kind == "svg" else None)
        return buffer.getvalue()
