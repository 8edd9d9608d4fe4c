"""Why recurrent networks are hard to train, measured: gradient flow through time, the spectra of
the state Jacobians, and the size of the recurrent matrices (Pascanu, Mikolov & Bengio 2013)."""

from .gradient_flow import CellFlow, GradientFlow, gradient_flow
from .jacobians import JacobianSpectrum, jacobian_spectrum, step_jacobian
from .spectral import (ACTIVATION_SLOPE, largest_singular_value, recurrent_matrices, set_largest_singular_value_,
                       set_spectral_radius_, spectra_report, spectral_radius)

__all__ = ["ACTIVATION_SLOPE", "CellFlow", "GradientFlow", "JacobianSpectrum", "gradient_flow", "jacobian_spectrum",
           "largest_singular_value", "recurrent_matrices", "set_largest_singular_value_", "set_spectral_radius_",
           "spectra_report", "spectral_radius", "step_jacobian"]
