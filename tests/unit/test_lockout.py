from datetime import datetime, timedelta

import pytest

from hubctl.hub.lockout import lockout_is_over

FAILED = datetime(2026, 11, 22, 10, 0, 0)
TEN_MINUTES = 600


@pytest.mark.parametrize(
    ("later", "lockout", "over"),
    [
        (timedelta(seconds=599), TEN_MINUTES, False),
        (timedelta(seconds=601), TEN_MINUTES, True),
        # a day and a few seconds later: NativeAuthenticator's own check locked out again
        (timedelta(days=1, seconds=3), TEN_MINUTES, True),
        (timedelta(hours=47), 2 * 86400, False),
        (timedelta(hours=49), 2 * 86400, True),
    ],
)
def test_a_lockout_lasts_its_length_whatever_the_length(later, lockout, over):
    assert lockout_is_over(FAILED, FAILED + later, lockout) is over
