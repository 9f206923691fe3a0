"""Look-up arguments and range checks.

============  ====================================================================
module        contents
============  ====================================================================
``gkr``       GKR for sums of fractions (no committed helper columns)
``logup``     LogUp: ``f`` in ``t`` with multiplicities ``m``; range tables
``range``     range checks of many columns of several widths by one tagged LogUp
``_kernels``  Numba kernels of the provers
============  ====================================================================
"""

from __future__ import annotations
