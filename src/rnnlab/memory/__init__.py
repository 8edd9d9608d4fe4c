"""The Neural Turing Machine (Graves, Wayne & Danihelka 2014): addressing functions, heads, the model.

>>> from rnnlab.memory import NTM
>>> ntm = NTM(input_size=9, output_size=8, memory_slots=128, memory_width=20)
>>> y, state = ntm(x)            # x (T, B, 9) -> y (T, B, 8) logits, final NTMState
"""

from . import addressing
from .heads import HeadParameterLayer, HeadParameters
from .ntm import NTM, NTMState, NTMTrace

__all__ = ["addressing", "HeadParameterLayer", "HeadParameters", "NTM", "NTMState", "NTMTrace"]
