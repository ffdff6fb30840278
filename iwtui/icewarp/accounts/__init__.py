"""Account Statistics (issue 12): ``stats`` (per local account over a period, from the
traffic store and the mailbox now), ``export`` (IceWarp's file shape), ``quota``
(ASSUMED source of the mailbox limits)."""
