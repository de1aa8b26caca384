"""The demo's commands: `twonets simulate` (= `twonets sensing simulate`) publishes readings to MQTT."""

from __future__ import annotations

import json

import typer


def simulate(
    things: int = typer.Option(2000, "--things", min=1, help="how many things to simulate (registered if new)"),
    rate: float = typer.Option(500.0, "--rate", min=1, help="readings per second"),
    duration: float = typer.Option(60.0, "--duration", min=0.1, help="seconds"),
    seed: int = typer.Option(7, help="random seed"),
    root: str = typer.Option("twonets", help="topic root"),
    incidents: bool = typer.Option(True, help="inject incidents of every detector type"),
    malformed: float = typer.Option(0.001, help="share of malformed messages"),
) -> None:
    """Publish realistic readings to MQTT: diurnal patterns, noise, incidents, a few bad messages."""
    from twonets.demo.sensing import run_simulation

    report = run_simulation(n_things=things, rate=rate, duration_s=duration, seed=seed, root=root,
                            incidents=incidents, malformed_share=malformed, progress=True)
    print(json.dumps(report))
