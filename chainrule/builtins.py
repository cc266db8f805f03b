"""``chainrule.builtins``: autograd's ``autograd.builtins`` names, for code ported with only its imports
changed. chainrule differentiates through Python's own containers, so these are Python's own.

>>> from chainrule.builtins import tuple
>>> tuple((1.0, 2.0))
(1.0, 2.0)
"""

from builtins import dict, isinstance, list, tuple  # noqa: UP029  (re-exported under autograd's module name)

__all__ = ["dict", "isinstance", "list", "tuple"]
