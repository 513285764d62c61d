"""Baselines for comparison with Evolino: an LSTM of the same parameterisation trained by BPTT, a plain recurrent net
trained by BPTT (the vanishing-gradient baseline), and an echo state network (same readout, random fixed reservoir)
with a search of its settings on the validation error."""

from evolino.baselines.bptt import BPTTLSTM, BPTTResult
from evolino.baselines.esn import EchoStateNetwork, ESNResult, ESNSearch
from evolino.baselines.rnn import BPTTRNN, BPTTRNNResult

__all__ = ["BPTTLSTM", "BPTTResult", "BPTTRNN", "BPTTRNNResult", "EchoStateNetwork", "ESNResult", "ESNSearch"]
