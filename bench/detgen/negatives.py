"""Hard negatives: unusual weeks that are nobody's wrongdoing. Whatever fires on these
people and days is a false alert, reported per class."""

from __future__ import annotations

from datetime import date, timedelta

from bench.detgen.activity import Search, day_count, hour_in, moment, ordinary_searches
from bench.detgen.draft import WARM_UP, Draft
from bench.detgen.labels import HardNegative
from bench.detgen.people import addresses, habit_for
from bench.detgen.vocab import message_id

EVERYONE = ("*",)


def _label(draft: Draft, klass: str, persons: tuple[str, ...], first: date, last: date) -> None:
    draft.key.negatives.append(HardNegative(draft.key.name, klass, persons, first, last))


def weekly_report(draft: Draft) -> None:
    """Every Monday at 07:00 a compliance analyst (or IT admin) runs the same saved
    searches: a fixed list of 40 to 70, every week of the history."""
    habit = draft.person(("compliance", "it_admin"))
    queries = [f"[User : {m}] external forward" for m in draft.rng.sample(draft.mailboxes, 25)]
    queries += [f"saved query {n}: attachments to personal webmail" for n in range(45)]
    queries = queries[: draft.rng.randint(40, 70)]
    mondays = [d for d in draft.calendar() if d.weekday() == 0 and d not in draft.days.holidays]
    for day in mondays:
        draft.add(
            [
                Search(
                    habit.email,
                    moment(draft.rng, day, 7),
                    text,
                    "Saved search: weekly DLP report",
                    "Weekly report",
                )
                for text in queries
            ]
        )
    _label(draft, "weekly_report", (habit.email,), mondays[0], mondays[-1])


def team_incident_response(draft: Draft) -> None:
    """A phishing campaign: up to 24 people of IT, helpdesk and security sweep the
    recipients' mailboxes all day, by subject, sender and message id."""
    day = draft.rng.choice(
        [d for d in draft.calendar()[WARM_UP:-5] if d.weekday() < 5 and d not in draft.quiet_days]
    )
    draft.quiet_days.add(day)
    roles = ("it_admin", "helpdesk", "security", "compliance", "rare_admin")
    pool = sorted(
        (h for h in draft.habits.values() if h.role in roles and h.email not in draft.reserved),
        key=lambda h: roles.index(h.role),
    )
    team = pool[:24]
    draft.unsilenced.update(h.email for h in team)
    recipients = draft.rng.sample(draft.mailboxes, min(len(draft.mailboxes), 180))
    subject = draft.rng.choice(("Action required: payroll update", "Shared document: Q4 bonus"))
    sender = draft.rng.choice(("hr-portal-secure.example", "docs-share.example"))
    for habit in team:
        searches = []
        for _ in range(draft.rng.randint(20, 60)):
            text = draft.rng.choice(
                (
                    f"[Subject : {subject}]",
                    f"[From : {sender}]",
                    message_id(draft.rng, sender),
                    f"[User : {draft.rng.choice(recipients)}] {subject}",
                )
            )
            at = moment(draft.rng, day, hour_in(draft.rng, 8, 22))
            searches.append(Search(habit.email, at, text, "Threat Remediation search", "SIR-7781"))
        draft.add(searches)
    _label(draft, "team_incident_response", tuple(h.email for h in team), day, day)


def return_from_leave(draft: Draft) -> None:
    """Three to four weeks away, then two days of catching up at twice the usual."""
    habit = draft.person(("legal", "it_admin", "helpdesk", "compliance", "hr"))
    back = draft.workday(habit, WARM_UP, len(draft.calendar()) - 6)
    away = [back - timedelta(days=n) for n in range(1, draft.rng.randint(21, 28))]
    habit.absent.update(away)
    draft.clear(habit.email, away)
    catch_up = [back, back + timedelta(days=1)]
    draft.clear(habit.email, catch_up)
    for day in catch_up:
        count = day_count(draft.rng, 2 * habit.mean)
        draft.add(ordinary_searches(draft.rng, habit, day, count, draft.mailboxes, draft.domain))
    _label(draft, "return_from_leave", (habit.email,), back, back + timedelta(days=2))


def newcomer(draft: Draft, role: str, klass: str) -> None:
    """A new hire (or new compliance analyst) from a day on: their habits, no history."""
    email = addresses(draft.rng, 1, draft.domain, set(draft.habits) | set(draft.mailboxes))[0]
    habit = habit_for(draft.rng, email, role, draft.mailboxes)
    habit.joined = draft.workday(habit, WARM_UP, len(draft.calendar()) - 20)
    habit.p_active = max(habit.p_active, 0.6)
    draft.habits[email] = habit
    draft.reserved.add(email)
    draft.key.roles[email] = role
    draft.regenerate(habit, [d for d in draft.calendar() if d >= habit.joined])
    _label(draft, klass, (email,), habit.joined, habit.joined + timedelta(days=13))


def change_of_habit(draft: Draft, night: bool) -> None:
    """From a day on, for good: later hours and more searches (a new project), or the
    night shift (22:00 to 06:00)."""
    roles = ("helpdesk", "security", "it_admin") if night else ("legal", "compliance", "hr")
    habit = draft.person(roles)
    since = draft.workday(habit, WARM_UP - 10, len(draft.calendar()) - 25)
    if night:
        habit.changes.append((since, 22, 6, 1.0))
    else:
        habit.changes.append((since, min(habit.start + 3, 12), min(habit.end + 3, 23), 1.8))
    draft.regenerate(habit, [d for d in draft.calendar() if d >= since])
    klass = "night_shift_move" if night else "habit_change"
    _label(draft, klass, (habit.email,), since, draft.key.last_day)


def tenant_wide(draft: Draft) -> None:
    """Public holidays (and the day after), and the busy day, for everyone."""
    for holiday in sorted(draft.days.holidays):
        _label(draft, "public_holiday", EVERYONE, holiday, holiday + timedelta(days=1))
    if draft.days.busy_day is not None:
        busy = draft.days.busy_day
        _label(draft, "busy_tenant_day", EVERYONE, busy, busy)


def plant_negatives(draft: Draft, size: str) -> None:
    tenant_wide(draft)
    weekly_report(draft)
    return_from_leave(draft)
    change_of_habit(draft, night=False)
    newcomer(draft, "helpdesk" if size != "small" else "it_admin", "new_hire")
    if size != "small":
        newcomer(draft, "compliance", "new_compliance_staff")
        change_of_habit(draft, night=True)
        return_from_leave(draft)
        team_incident_response(draft)
