"""The Kaplan-Meier plot of the endpoints report (matplotlib's Agg canvas, no pyplot state)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from app.domain import endpoints as stats
from app.domain import protocol


def km_curve(records: Sequence[stats.SurvivalRecord]) -> tuple[list[int], list[float]]:
    """The KM step function at every day from 0 to the arm's last observation."""
    if not records:
        return [], []
    days, values = [], []
    for t in range(max(r.time_days for r in records) + 1):
        estimate = stats.kaplan_meier_at(records, t).estimate
        if estimate is None:
            break
        days.append(t)
        values.append(estimate)
    return days, values


def km_png(records: Sequence[stats.SurvivalRecord]) -> bytes:
    """Kaplan-Meier curves per arm (censorings marked '+') as PNG (Agg, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for arm, color in zip(protocol.ARMS, ("tab:blue", "tab:orange"), strict=True):
        mine = [r for r in records if r.arm == arm]
        days, values = km_curve(mine)
        if not days:
            continue
        axes.step(
            [0, *days], [1.0, *values], where="post", color=color, label=f"{arm} (n={len(mine)})"
        )
        censored = [r.time_days for r in mine if not r.event and r.time_days <= days[-1]]
        axes.plot(censored, [values[t] for t in censored], "+", color=color, markersize=10)
    for day in (protocol.SURVIVAL_4W_DAY, protocol.SURVIVAL_12W_DAY):
        axes.axvline(day, color="grey", linestyle=":", linewidth=1)
    axes.set_xlim(0, protocol.SURVIVAL_12W_DAY + protocol.VISIT_WINDOWS[84].days_after)
    axes.set_ylim(0, 1.05)
    axes.set_xlabel("days from randomization (Day 1 = 0)")
    axes.set_ylabel("overall survival S(t)")
    axes.set_title(f"{protocol.TRIAL_CODE}: Kaplan-Meier overall survival (ITT)")
    axes.legend(loc="lower left")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
