"""Clock verification: how far this host's clock can be from UTC, or why that is unknown
(docs/clock.md).

- `sntp`: one checked SNTP exchange; `audit`: bursts, the best sample, politeness.
- `readers`: the kernel, chrony, ntpd and timesyncd, normalised; `daemon`: which one is here.
- `bound`, `view`, `events`: the pure logic (intervals, the published view, what changed).
- `monitor`: the loops and the current `ClockView`; `records`: the ``clock`` stream;
  `command`: ``chronolog-agent clock``.
"""
