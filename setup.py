"""Build chainrule's optional C accelerator (chainrule/_cengine.c); everything else is in pyproject.toml.

Without a C compiler the extension is skipped (``optional=True``) and chainrule runs on its pure-Python
engine: ``chainrule.engine_info()`` says which engine is in use and why.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("chainrule._cengine", ["chainrule/_cengine.c"], optional=True)])
