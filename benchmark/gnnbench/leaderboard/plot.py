"""The leaderboard's error-vs-Δt plot: every entry of a group on one log-log axis, as SVG.

The SVG is byte-for-byte reproducible for the same inputs and matplotlib version (no date, fixed
element ids), so regenerating an unchanged leaderboard leaves no diff.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

from .entries import Entry  # noqa: E402


def error_vs_dt_svg(entries: list[Entry], split: str, title: str) -> bytes:
    """RMSE of the per-atom displacement vector (Å) against Δt (fs); baselines dashed, learned solid."""
    with matplotlib.rc_context({"svg.hashsalt": "gnnbench-leaderboard", "svg.fonttype": "none", "font.size": 9}):
        fig, ax = plt.subplots(figsize=(7.0, 4.6))
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
        buffer = io.BytesIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "gnnbench leaderboard"})
        plt.close(fig)
    return buffer.getvalue()
