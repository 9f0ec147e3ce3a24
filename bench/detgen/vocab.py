"""What people type into an archive search, per role, written from how such teams work
(eDiscovery custodians and matters, helpdesk message traces, phishing sweeps, HR cases),
never from the detector's term list, which the author of this generator has not read.

Sensitive phrases come in categories; a role has routine categories (HR searches HR
words every week, legal its matters), and snooping is a person searching a category that
is not routine for their role.
"""

from __future__ import annotations

import random

SENSITIVE: dict[str, tuple[str, ...]] = {
    "hr": (
        "disciplinary hearing",
        "performance improvement plan",
        "PIP meeting",
        "settlement agreement",
        "grievances",
        "exit package",
        "sick notes",
        "pay rises 2027",
        "redundancies",
        "being let go",
        "compensation bands",
        "bonus pool",
        "tribunal claim",
    ),
    "deals": (
        "project kestrel",
        "term sheet",
        "due diligence pack",
        "letter of intent",
        "LOIs",
        "buyout",
        "takeover bid",
        "valuation model",
        "data room invite",
        "heads of terms",
        "acquiring northwind",
    ),
    "finance": (
        "payroll file",
        "bank details changed",
        "wire instructions",
        "board pack",
        "Q4 forecast",
        "earnings pre-release",
        "unaudited results",
    ),
    "credentials": (
        "password reset",
        "passwd",
        "login details",
        "MFA codes",
        "vpn creds",
        "api keys",
        "one-time passcode",
    ),
    "legal": (
        "privileged and confidential",
        "subpoenas",
        "litigation hold",
        "without prejudice",
        "cease and desist",
        "regulator inquiry",
    ),
}

ROUTINE: dict[str, tuple[str, ...]] = {
    "legal": ("legal", "deals"),
    "compliance": ("legal", "finance", "credentials", "hr"),
    "hr": ("hr",),
    "it_admin": ("credentials",),
    "helpdesk": ("credentials",),
    "security": ("credentials",),
    "exec_assistant": ("finance",),
    "rare_admin": (),
    "end_user": (),
    "service": (),
}
"""Sensitive categories each role searches as part of its job."""

ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "legal": (
        "custodian export",
        "contract renewal acme",
        "NDA signed copy",
        "board minutes draft",
        "lease agreement unit 4",
        '"supply agreement" amendment',
        "invoice dispute 2025",
        "settlement",
    ),
    "compliance": (
        "gifts and hospitality",
        "conflict of interest form",
        "personal account dealing",
        "trade confirmation",
        '"off channel" whatsapp',
        "sanctions screening",
        "complaint ref",
        "best execution",
    ),
    "hr": (
        "onboarding pack",
        "offer letter",
        "reference request",
        "right to work",
        "annual leave request",
        "probation review",
        "training certificate",
    ),
    "it_admin": (
        "undeliverable",
        "mailbox full",
        "out of office",
        "autoforward",
        "DKIM failure",
        "bounce",
        "journal",
        "calendar invite",
    ),
    "helpdesk": (
        "missing email",
        "invoice",
        "attachment too large",
        "recall message",
        "shared mailbox",
        "delivery report",
        "lost email from",
    ),
    "security": (
        "docusign",
        "shared a file with you",
        "voicemail received",
        "urgent payment",
        "invoice overdue",
        "qr code",
        "microsoft 365 expiring",
    ),
    "exec_assistant": (
        "flight itinerary",
        "board dinner",
        "travel booking",
        "diary",
        "conference agenda",
        "speech notes",
    ),
    "rare_admin": ("audit", "export", "retention", "legal hold test"),
    "end_user": (
        "quote",
        "meeting notes",
        "photos",
        "holiday",
        "timesheet",
        "presentation",
        "order confirmation",
        "minutes",
        "proposal v2",
    ),
    "service": ("",),
}

DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "legal": ("Archive Search", "Case Review Search", "Saved search: custodian sweep"),
    "compliance": ("Archive Search", "Saved search: surveillance lexicon", "Archive Search"),
    "hr": ("Archive Search",),
    "it_admin": ("Message Tracking Search", "Archive Search", "Audit [Page 1] - Depth 100"),
    "helpdesk": ("Message Tracking Search", "Archive Search"),
    "security": ("Threat Remediation search", "Message Tracking Search"),
    "exec_assistant": ("Archive Search",),
    "rare_admin": ("Archive Search", "Audit [Page 1] - Depth 100"),
    "end_user": ("Personal Archive Search",),
    "service": ("Message Tracking Search",),
}

REASONS: dict[str, tuple[str, ...]] = {
    "legal": ("Matter {n} - disclosure", "Matter {n}", "litigation support", ""),
    "compliance": ("Surveillance alert {n}", "Quarterly review", "Complaint {n}", ""),
    "hr": ("ER case {n}", "HR investigation {n}", ""),
    "it_admin": ("INC{n}", "", "", ""),
    "helpdesk": ("INC{n}", "user request", "", ""),
    "security": ("SIR-{n}", "phish triage", ""),
    "exec_assistant": ("", "on behalf of CEO"),
    "rare_admin": ("", "audit request"),
    "end_user": ("",),
    "service": ("",),
}


def message_id(rng: random.Random, domain: str) -> str:
    stamp = f"{rng.randrange(10**11):011d}"
    token = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(10))
    host = rng.choice((domain, "mail.gmail.com", "eurprd04.prod.outlook.com"))
    return f"<{stamp}.{token}@{host}>"


def user_filter(rng: random.Random, mailbox: str) -> str:
    """`[User : addr]`, sometimes after a saved query's hash, sometimes with free text."""
    shape = rng.random()
    if shape < 0.15:
        digest = "".join(rng.choice("0123456789abcdef") for _ in range(16))
        return f"{digest} [User : {mailbox}]"
    if shape < 0.5:
        return f"[User : {mailbox}]"
    return f"[User : {mailbox}] {rng.choice(('', 'from:', 'attachment', 'sent items'))}".strip()


def reason(rng: random.Random, role: str) -> str:
    return rng.choice(REASONS[role]).format(n=rng.randrange(1000, 99999))


def ordinary_text(rng: random.Random, role: str, mailbox: str | None, domain: str) -> str:
    """One ordinary search by someone of `role`; `mailbox` when the search targets one."""
    pick = rng.random()
    if role == "service":
        return rng.choice(("[Route : inbound]", "[Status : held]", message_id(rng, domain)))
    if role in ("helpdesk", "it_admin", "security") and pick < 0.3:
        return message_id(rng, domain)
    if role in ("it_admin", "helpdesk") and pick < 0.4:
        return rng.choice(("[Route : outbound]", "[Status : held]", "[Route : internal]"))
    if pick < 0.55 and role != "end_user":
        return ""  # an empty search: the filters are in the description or the UI
    routine = ROUTINE[role]
    words = rng.choice(ROLE_WORDS[role])
    if routine and rng.random() < 0.12:
        words = rng.choice(SENSITIVE[rng.choice(routine)])
    if mailbox is not None:
        return f"{user_filter(rng, mailbox)} {words}".strip()
    return words


def snooping_text(rng: random.Random, category: str, mailbox: str | None) -> str:
    """A search for a category's words, typed as a person would, sometimes at a mailbox."""
    phrase = rng.choice(SENSITIVE[category])
    phrase = rng.choice((phrase, phrase.lower(), phrase.title(), f'"{phrase}"'))
    return f"{user_filter(rng, mailbox)} {phrase}" if mailbox else phrase


def sensitive_categories_in(text: str) -> set[str]:
    """The categories whose phrases occur in `text` (the answer key's reading, not a rule)."""
    lowered = text.lower()
    return {
        category
        for category, phrases in SENSITIVE.items()
        if any(phrase.lower() in lowered for phrase in phrases)
    }
