"""The scoring protocol per dataset config (``protocol.yaml`` beside this module): batch size,
rollout horizons, observation interval, thermostat, RDF bins, failure distance, cost timing.
One reader, so the scorer and the leaderboard's checks use the same values."""

from __future__ import annotations

from pathlib import Path

import yaml

PROTOCOL_PATH = Path(__file__).with_name("protocol.yaml")


def load_protocol(config: str) -> dict:
    """The protocol of dataset ``config`` (``mini``, ``full``); ValueError for a config it does not list."""
    protocols = yaml.safe_load(PROTOCOL_PATH.read_text())
    if config not in protocols:
        raise ValueError(f"no scoring protocol for dataset config {config!r} in {PROTOCOL_PATH}")
    return protocols[config]
