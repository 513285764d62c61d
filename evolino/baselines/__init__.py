"""Baselines for comparison with Evolino: an LSTM of the same parameterisation trained by BPTT, and an echo state
network (same readout, random fixed reservoir) with a search of its settings on the validation error."""

from evolino.baselines.bptt import BPTTLSTM, BPTTResult
from evolino.baselines.esn import EchoStateNetwork, ESNResult, ESNSearch

__all__ = ["BPTTLSTM", "BPTTResult", "EchoStateNetwork", "ESNResult", "ESNSearch"]
