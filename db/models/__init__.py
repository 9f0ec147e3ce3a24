"""The schema: one source of truth, mirrored by the Alembic migrations in `db/migrations`.

Split by concern; import from here (`from db.models import SearchLog`):
- `types` — `UtcDateTime`, the free-text index keys (`text_key`, `text_in`), `utc_now`;
- `core` — the searches and the ingest's own tables (runs, rejects, state, filter values);
- `rollup_tables` — the counts kept with the rows (`db.rollups` maintains and reads them);
- `operations` — the audit trail, forwarding cursors and parked messages, alerts and the
  days the detector scored, API tokens;
- `targets` — what each search targeted (mailboxes, filters, message ids).
- `evidence` — the sealed days' chained digests and their verifications.
- `features` — each person's text features per local day, kept by the detector.
"""

from db.models.core import (
    EVENT_COLUMNS,
    FILTER_VALUE_COLUMNS,
    REJECT_COLUMNS,
    Base,
    FilterValue,
    IngestRun,
    KeyValue,
    RejectedRecord,
    SearchLog,
)
from db.models.evidence import INSTALLATION_CHAIN, Seal, SealCheck
from db.models.features import FeatureDay, PersonDayFeatures
from db.models.operations import (
    Alert,
    ApiToken,
    AuditEvent,
    ForwardCursor,
    ForwardDeadLetter,
    ScoredDay,
)
from db.models.rollup_tables import (
    ROLLUP_DAY,
    ROLLUP_HOUR,
    ROLLUP_USER_ALL,
    ROLLUP_USER_DAY,
    ROLLUP_USER_DAY_HOURS,
    ROLLUP_USER_DAY_TOTAL,
    ROLLUP_USER_HOUR,
    ROLLUP_USER_HOUR_TOTAL,
    ROLLUP_USER_MONTH,
)
from db.models.targets import SearchTarget
from db.models.types import TEXT_KEY_CHARS, UtcDateTime, text_in, text_key, text_key_sql, utc_now

__all__ = [
    "EVENT_COLUMNS",
    "FILTER_VALUE_COLUMNS",
    "INSTALLATION_CHAIN",
    "REJECT_COLUMNS",
    "ROLLUP_DAY",
    "ROLLUP_HOUR",
    "ROLLUP_USER_ALL",
    "ROLLUP_USER_DAY",
    "ROLLUP_USER_DAY_HOURS",
    "ROLLUP_USER_DAY_TOTAL",
    "ROLLUP_USER_HOUR",
    "ROLLUP_USER_HOUR_TOTAL",
    "ROLLUP_USER_MONTH",
    "TEXT_KEY_CHARS",
    "Alert",
    "ApiToken",
    "AuditEvent",
    "Base",
    "FeatureDay",
    "FilterValue",
    "ForwardCursor",
    "ForwardDeadLetter",
    "IngestRun",
    "KeyValue",
    "PersonDayFeatures",
    "RejectedRecord",
    "ScoredDay",
    "Seal",
    "SealCheck",
    "SearchLog",
    "SearchTarget",
    "UtcDateTime",
    "text_in",
    "text_key",
    "text_key_sql",
    "utc_now",
]
