"""``chainrule.numpy.fft``: differentiable discrete Fourier transforms, under ``numpy.fft``'s names.

Its names come from the registry: every primitive registered with a ``"numpy.fft.<name>"`` public name.
"""

from .._registry import namespace as _namespace

globals().update(_namespace("numpy.fft"))  # the primitives' public names, from their registrations
