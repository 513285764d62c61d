"""Baselines for comparison with Evolino: an LSTM of the same parameterisation trained by BPTT, and an echo state
network (same readout, random fixed reservoir)."""

from evolino.baselines.bptt import BPTTLSTM, BPTTResult
from evolino.baselines.esn import EchoStateNetwork, ESNResult

__all__ = ["BPTTLSTM", "BPTTResult", "EchoStateNetwork", "ESNResult"]
