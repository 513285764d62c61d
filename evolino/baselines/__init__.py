"""Baselines for comparison with Evolino: an echo state network (same readout, random fixed reservoir)."""

from evolino.baselines.esn import EchoStateNetwork, ESNResult

__all__ = ["EchoStateNetwork", "ESNResult"]
