"""``python -m zkinfer``: the same as the ``zkinfer`` command."""

from __future__ import annotations

import sys

from zkinfer.cli import main

sys.exit(main())
