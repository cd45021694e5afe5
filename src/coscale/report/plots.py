"""Loss curves of a comparison: a static PNG (matplotlib, Agg) and a self-contained plotly HTML."""

from __future__ import annotations

from pathlib import Path


def moving_average(values: list[float], window: int) -> list[float]:
    """Trailing mean over `window` values (shorter at the start)."""
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def write_loss_plots(record: dict, out_dir: Path) -> tuple[Path, Path]:
    """Train loss (moving average) and validation loss per recipe; returns (png, html) paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    runs = [r for r in record["runs"] if not r.get("diverged")]
    window = max(1, record["steps"] // 50)
    fig, (ax_t, ax_v) = plt.subplots(1, 2, figsize=(13, 5))
    html = make_subplots(rows=1, cols=2, subplot_titles=(f"train loss ({window}-step mean)", "validation loss"))
    for r in runs:
        steps = list(range(1, len(r["train_loss"]) + 1))
        smooth = moving_average(r["train_loss"], window)
        vx, vy = [p[0] for p in r["val_curve"]], [p[1] for p in r["val_curve"]]
        ax_t.plot(steps, smooth, label=r["recipe"], linewidth=1)
        ax_v.plot(vx, vy, marker="o", markersize=3, label=r["recipe"])
        html.add_trace(go.Scatter(x=steps, y=smooth, name=r["recipe"], legendgroup=r["recipe"]), row=1, col=1)
        html.add_trace(
            go.Scatter(x=vx, y=vy, name=r["recipe"], legendgroup=r["recipe"], showlegend=False, mode="lines+markers"),
            row=1,
            col=2,
        )
    for ax, title in ((ax_t, f"train loss ({window}-step mean)"), (ax_v, "validation loss")):
        ax.set_xlabel("step")
        ax.set_ylabel(f"loss ({record['loss_unit']})")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    ax_v.legend(fontsize=8)
    fig.suptitle(f"coscale lab compare: preset {record['preset']}, seed {record['seed']}")
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    png, page = out_dir / "loss_curves.png", out_dir / "loss_curves.html"
    fig.savefig(png, dpi=120)
    plt.close(fig)
    html.update_layout(
        title=f"coscale lab compare: preset {record['preset']}, seed {record['seed']}",
        xaxis_title="step",
        xaxis2_title="step",
        yaxis_title=f"loss ({record['loss_unit']})",
    )
    html.write_html(page, include_plotlyjs=True, full_html=True)
    return png, page
