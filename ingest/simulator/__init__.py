"""A local imitation of the Mimecast API 2.0 archive-search-log endpoints.

Why: the ingest must be proven against the API's quirks (ignored `from`/`to` keys, inclusive
bounds, a `next` on the last page, failures inside HTTP 200, 429 resets in milliseconds, late
events, identical twin records, malformed rows) without a Mimecast tenant, repeatably, and fast
enough to benchmark. Data is deterministic per (seed, UTC day); `Simulator.truth()` says exactly
what a correct ingest must end up with.
"""

from ingest.simulator.config import SimConfig
from ingest.simulator.faults import REPLACING_FAULTS, SHAPE_FAULTS
from ingest.simulator.server import Simulator, ensure_loopback

__all__ = ["REPLACING_FAULTS", "SHAPE_FAULTS", "SimConfig", "Simulator", "ensure_loopback"]
