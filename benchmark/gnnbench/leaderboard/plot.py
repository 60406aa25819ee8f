"""The leaderboard's two figures, as SVG: error against Δt, and accuracy against cost.

Both are byte-for-byte reproducible for the same inputs and matplotlib version (no date, fixed
element ids), so regenerating an unchanged leaderboard leaves no diff. They are drawn with
matplotlib's object-oriented ``Figure`` (no pyplot, so no backend is selected or changed).
"""

from __future__ import annotations

import io

import matplotlib.ticker
from matplotlib.figure import Figure

from ..score.baselines import VERLET_K_CURVE
from .entries import COLUMNS, Entry

SVG_STYLE = {"svg.hashsalt": "gnnbench-leaderboard", "svg.fonttype": "none", "font.size": 9}
# Entries that trace the cost-accuracy frontier of the physical integrator: velocity-Verlet with the
# true EAM forces at k steps per stride (fewer steps: faster and less accurate).
FRONTIER = tuple(b.entry_name for b in reversed(VERLET_K_CURVE))  # k = 8, 4, 2, 1


def _svg(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "gnnbench leaderboard"})
    return buffer.getvalue()


def entry_page_link(name: str) -> str:
    """Where an entry's page lies, relative to the leaderboard's index.html (and its SVGs)."""
    return f"entries/{name}.html"


def error_vs_dt_svg(entries: list[Entry], split: str, title: str) -> bytes:
    """RMSE of the per-atom displacement vector (Å) against Δt (fs); baselines dashed, learned solid."""
    with matplotlib.rc_context(SVG_STYLE):
        fig = Figure(figsize=(7.0, 4.6))
        ax = fig.subplots()
        for entry in entries:
            result = entry.split(split)
            if not result:
                continue
            dts = [dt for dt in result["dt_fs"] if result["overall"][str(dt)].get("submission")]
            rmse = [result["overall"][str(dt)]["submission"]["rmse_A"] for dt in dts]
            style = {"linestyle": "--", "marker": "s", "alpha": 0.85} if entry.is_baseline else {"linestyle": "-", "marker": "o", "linewidth": 2}
            ax.plot(dts, rmse, label=entry.name + (" (baseline)" if entry.is_baseline else ""), markersize=4, **style)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = sorted({dt for entry in entries if entry.split(split) for dt in entry.split(split)["dt_fs"]})
        ax.set_xticks(ticks, [str(dt) for dt in ticks])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("stride Δt (fs)")
        ax.set_ylabel("RMSE of per-atom displacement vector (Å)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        return _svg(fig)


ACCURACY_KEYS = ("rmse_10", "rdf_thermo")  # the two y axes of the accuracy-vs-cost figure


def accuracy_vs_cost_svg(entries: list[Entry], split: str, title: str) -> bytes:
    """Two log-log panels against the speed-up over LAMMPS on the same machine (x): the RMSE at
    Δt = 10 fs on ``split`` and the thermostatted rollouts' RDF error (y), each with its 95 % CI.

    The Verlet-EAM entries (k = 8, 4, 2 and 1 steps per stride) are joined: the frontier a learned
    model must lie below and to the right of to be worth its cost. In the RMSE panel each learned
    entry's label adds the Verlet force calls per stride its accuracy matches (a cost that
    carries over to potentials dearer than EAM, where the wall-time axis does not). Every point and label links
    to the entry's page (clickable where the SVG is inlined in a page). Entries without a value
    (for example no surviving rollout to measure an RDF on) are left out of that panel.
    """
    columns = {c.key: c for c in COLUMNS}
    with matplotlib.rc_context(SVG_STYLE):
        fig = Figure(figsize=(10.0, 4.4))
        axes = fig.subplots(1, 2)
        learned = sorted(e.name for e in entries if not e.is_baseline)
        colors = {e.name: "0.45" if e.is_baseline else f"C{learned.index(e.name) % 10}" for e in entries}
        for ax, key in zip(axes, ACCURACY_KEYS, strict=True):
            points = {}
            for entry in entries:
                values = entry.values_with_ci(split)
                (y, ci), (x, _) = values[key], values["speedup"]
                if x and y and x > 0 and y > 0:
                    points[entry.name] = (entry, x, y, ci)
            frontier = [points[name] for name in FRONTIER if name in points]
            if len(frontier) > 1:
                ax.plot([p[1] for p in frontier], [p[2] for p in frontier], color="0.35", linewidth=1.5, zorder=1,
                        label="Verlet-EAM frontier (k = 8 → 1 steps per stride)")
            for index, (name, (entry, x, y, ci)) in enumerate(sorted(points.items())):
                color = colors[name]
                if ci and None not in ci:
                    ax.errorbar([x], [y], yerr=[[max(y - ci[0], 0)], [max(ci[1] - y, 0)]], fmt="none", ecolor=color, elinewidth=1, zorder=2)
                marker = ax.scatter([x], [y], s=36, marker="s" if entry.is_baseline else "o", color=color, zorder=3,
                                    edgecolors="black", linewidths=0.5)
                marker.set_urls([entry_page_link(name)])
                calls = f" ({entry.force_calls_text(split)} force calls)" if key == "rmse_10" and not entry.is_baseline else ""
                label = ax.annotate(name + calls, (x, y), xytext=(5, 4 if index % 2 else -10), textcoords="offset points", fontsize=7,
                                    color="0.2" if entry.is_baseline else color)
                label.set_url(entry_page_link(name))
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("speed-up over LAMMPS EAM at 1 fs, same machine (×)")
            ax.set_ylabel(columns[key].header)
            ax.axvline(1.0, color="0.6", linestyle=":", linewidth=1)
            floors = sorted(e.rollouts("thermostatted")["rdf_noise_floor_A"] for e in entries
                            if key == "rdf_thermo" and e.rollouts("thermostatted") and e.rollouts("thermostatted").get("rdf_noise_floor_A"))
            if floors:  # the same MD frames for every entry: their floors agree
                ax.axhline(floors[len(floors) // 2], color="0.3", linestyle="--", linewidth=1,
                           label="MD noise floor (two halves of the MD window)")
            ax.grid(True, which="both", alpha=0.3)
            ax.margins(x=0.25, y=0.2)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7, loc="upper left")
        axes[0].set_title(f"one stride of 10 fs, split {split} (NVE-branch targets)", fontsize=9)
        axes[1].set_title("thermostatted rollouts: structure (RDF) vs MD", fontsize=9)
        fig.suptitle(title, fontsize=9)
        fig.tight_layout()
        return _svg(fig)
