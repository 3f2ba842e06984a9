"""Plots written to files (matplotlib, no display needed).

Example:

>>> import pandas as pd
>>> plot_history(pd.DataFrame({"epoch": [0, 1], "loss": [1.0, .5]}), "/tmp/loss.png")  # doctest: +SKIP
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_history(history, path):
    """Loss curves (and any other metric with a val_ twin) per epoch from a history table."""
    metrics = [c for c in history.columns if c != "epoch" and not c.startswith("val_")]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.5), squeeze=False)
    for ax, name in zip(axes[0], metrics):
        ax.plot(history["epoch"] + 1, history[name], marker="o", label="train")
        if f"val_{name}" in history:
            ax.plot(history["epoch"] + 1, history[f"val_{name}"], marker="o", label="validation")
        ax.set(xlabel="epoch", ylabel=name, title=name)
        ax.legend()
    _save(fig, path)


def plot_confusion(matrix, labels, path):
    """A confusion matrix with counts in the cells (rows: true, columns: predicted)."""
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, 1.2 * len(labels) + 1.5))
    ax.imshow(matrix, cmap="Blues")
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ax.text(j, i, str(count), ha="center", va="center")
    ticks = range(len(labels))
    ax.set(xticks=ticks, yticks=ticks, xticklabels=labels, yticklabels=labels,
           xlabel="predicted", ylabel="true", title="confusion matrix")
    _save(fig, path)


def plot_attention(weights, source_tokens, target_tokens, path):
    """An attention heat map: one row per generated token, one column per source token."""
    fig, ax = plt.subplots(figsize=(0.35 * len(source_tokens) + 2, 0.35 * len(target_tokens) + 1.5))
    ax.imshow(weights, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(source_tokens)), source_tokens, rotation=90)
    ax.set_yticks(range(len(target_tokens)), target_tokens)
    ax.set(xlabel="source", ylabel="output", title="attention")
    _save(fig, path)


def plot_search(trials, objective, path):
    """A search's objective against hidden size (one series per depth) and against depth.

    `trials` is a DataFrame with columns ``objective``, ``units`` and ``depth`` (one row
    per completed trial); a column missing from it (not searched) is drawn as one value.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, (x, series) in zip(axes, (("units", "depth"), ("depth", "units"))):
        if trials.empty:
            ax.text(0.5, 0.5, "no completed trials", ha="center", va="center")
        else:
            xs = trials[x] if x in trials else ["default"] * len(trials)
            groups = trials[series] if series in trials else ["default"] * len(trials)
            frame = trials.assign(_x=list(xs), _group=list(groups))
            for value, group in frame.groupby("_group", sort=True):
                ax.scatter(group["_x"], group["objective"], label=f"{series}={value}")
            ax.legend(fontsize="small")
            if x in trials:
                if x == "units" and trials[x].nunique() > 1:
                    ax.set_xscale("log", base=2)
                ticks = sorted(trials[x].unique())
                ax.set_xticks(ticks, [str(tick) for tick in ticks])
                ax.minorticks_off()
        ax.set(xlabel="hidden size (units)" if x == "units" else "depth (layers)",
               ylabel=objective, title=f"{objective} vs {x}")
    _save(fig, path)
