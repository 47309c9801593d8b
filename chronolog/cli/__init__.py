"""The ``chronolog`` command: investigators and administrators talking to the collector API."""
