"""An independent labelled generator of Mimecast archive search logs, for measuring the
detections on data they were not written beside (issue 17).

Written from a description of how archive searching really goes, without reading
`ingest/detect/` or `ingest/simulator/incidents.py`. Every seed is a world of three
tenants over 16 weeks (`world.world(seed)`, deterministic): a small firm (20 or 35
people, London), a mid-sized one (150 or 300, Berlin or UTC) and a group (1,000 or 2,000,
New York). Most people are end users who now and then search their own archive; the
searchers who matter have roles (`people.py`): legal/eDiscovery (custodian mailboxes,
matters as reasons), compliance (surveillance across the firm, routinely searching HR,
finance, credential and legal words), HR (case mailboxes, HR words), IT admins and
helpdesk (message ids, routes, held mail, anyone's mailbox; an early and a late shift;
two on call on public holidays), security (phishing subjects, some weekend work, a night
analyst in the group), executives' assistants (their executive's mailbox), rare admins
(a search day every month or so) and an API service user. Each person varies around the
role: volume (log-normal), hours (+-1 h), how often they search; counts per day are
gamma-Poisson; the odd late evening. Texts (`vocab.py`) are typed as such people type
them: `[User : addr]` filters (sometimes after a saved query's hash), message ids, phrases
in quotes, plurals, and sensitive phrases by category (HR, deals, finance, credentials,
legal) in other words than a term list would use. Tenants have two public holidays (the
day after is busier) and one busy day (everyone 2.5x).

Incidents (`plant.py`, labelled in `labels.Incident`: tenant, person, first and last day,
class, size, count): off-hours searching, weekend searching by a weekday-only person,
volume spike, breadth (mailboxes the person never searched), a dormant account waking
after 30 to 45 silent days, a never-seen searcher, sensitive-terms snooping in a category
not routine for the role, an insider on the busy day, and slow incidents over 20 working
days (new mailboxes every day; sensitive searches every day). Every class appears at every
size 0.5x, 0.75x, 1x, 1.5x, 2x of today's thresholds (slow ones at 0.5x to 1x: above one
day's threshold a day they are not slow); `plant.py` says how a size becomes a count.

Hard negatives (`negatives.py`, `labels.HardNegative`: class, persons, days): a weekly
Monday report, a team's incident response (up to 24 people sweeping a phishing campaign
one day), return from three to four weeks' leave, new hires, a new compliance analyst,
a permanent change of habit (later hours, 1.8x the searches), a move to the night shift,
public holidays and the busy day.
"""

from bench.detgen.labels import HardNegative, Incident, TenantKey
from bench.detgen.world import GeneratedTenant, world

__all__ = ["GeneratedTenant", "HardNegative", "Incident", "TenantKey", "world"]
