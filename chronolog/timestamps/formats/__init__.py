"""The timestamp layouts chronolog recognises without configuration, one module per family.

`DETECTED` is the order the dispatcher tries them in when it has nothing cached for a source;
at equal positions in a line, the earlier one in this list wins.
"""

from chronolog.timestamps.formats.apache import CLF, CTIME
from chronolog.timestamps.formats.base import WINDOW, Format
from chronolog.timestamps.formats.compact import COMPACT, HDFS
from chronolog.timestamps.formats.epoch import EPOCH
from chronolog.timestamps.formats.epochfield import EPOCH_FIELD
from chronolog.timestamps.formats.iso import DB2, ISO_8601, ISO_8601_BASIC
from chronolog.timestamps.formats.jsonfield import JSON_FIELD
from chronolog.timestamps.formats.logcat import LOGCAT
from chronolog.timestamps.formats.rfc2822 import RFC_2822
from chronolog.timestamps.formats.slash import SLASH, SLASH_SHORT_YEAR
from chronolog.timestamps.formats.syslog import RFC_3164

__all__ = ["DETECTED", "WINDOW", "Format"]

DETECTED: tuple[Format, ...] = (
    JSON_FIELD,
    ISO_8601,
    CLF,
    CTIME,
    RFC_2822,
    RFC_3164,
    SLASH,
    LOGCAT,
    ISO_8601_BASIC,
    SLASH_SHORT_YEAR,
    HDFS,
    COMPACT,
    EPOCH,
    DB2,
    EPOCH_FIELD,
)
