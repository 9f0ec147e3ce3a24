"""Forwarding: every stored search (and, later, every alert) to SIEMs and chat, exactly once
in normal operation, through outages. See docs/forwarding.md."""
