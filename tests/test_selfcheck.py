"""The self-check passes at every size the command accepts."""

from __future__ import annotations

import pytest

from zkinfer import selfcheck


@pytest.mark.parametrize("log_n", [4, 5, 6, 8, 10, 12])
def test_selfcheck_small_sizes(log_n):
    lines = []
    assert selfcheck.run(log_n, 0, say=lines.append)
    assert lines[-1].startswith("all checks passed")
