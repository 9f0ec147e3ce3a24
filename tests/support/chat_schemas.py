"""The published schemas of the chat webhook bodies (Slack Block Kit, Teams Adaptive Cards),
the parts the alert notifications use."""

# The parts of the published schemas the messages use. Slack: Block Kit reference
# (api.slack.com/reference/block-kit: header text plain_text ≤ 150, section text ≤ 3000,
# ≤ 50 blocks, button text ≤ 75 and url ≤ 3000). Teams Workflows: a `message` with one
# attachment of contentType application/vnd.microsoft.card.adaptive whose content validates
# as an Adaptive Card (adaptivecards.io/schemas/adaptive-card.json, RichTextBlock/TextRun,
# Action.OpenUrl).
_PLAIN = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": {"const": "plain_text"}, "text": {"type": "string", "minLength": 1}},
}
SLACK_SCHEMA = {
    "type": "object",
    "required": ["text", "blocks"],
    "properties": {
        "text": {"type": "string", "maxLength": 40000},
        "mrkdwn": {"type": "boolean"},
        "blocks": {
            "type": "array",
            "maxItems": 50,
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": {
                            "type": {"const": "header"},
                            "text": {
                                **_PLAIN,
                                "properties": {
                                    **_PLAIN["properties"],
                                    "text": {"type": "string", "maxLength": 150},
                                },
                            },
                        },
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": {
                            "type": {"const": "section"},
                            "text": {
                                "type": "object",
                                "required": ["type", "text"],
                                "properties": {
                                    "type": {"enum": ["plain_text", "mrkdwn"]},
                                    "text": {"type": "string", "minLength": 1, "maxLength": 3000},
                                },
                            },
                        },
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "required": ["type", "elements"],
                        "properties": {
                            "type": {"const": "context"},
                            "elements": {"type": "array", "maxItems": 10, "items": _PLAIN},
                        },
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "required": ["type", "elements"],
                        "properties": {
                            "type": {"const": "actions"},
                            "elements": {
                                "type": "array",
                                "maxItems": 25,
                                "items": {
                                    "type": "object",
                                    "required": ["type", "text", "action_id"],
                                    "properties": {
                                        "type": {"const": "button"},
                                        "text": _PLAIN,
                                        "url": {"type": "string", "maxLength": 3000},
                                        "action_id": {"type": "string", "maxLength": 255},
                                    },
                                },
                            },
                        },
                        "additionalProperties": False,
                    },
                ]
            },
        },
    },
}
_TEXT_RUN = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {
        "type": {"const": "TextRun"},
        "text": {"type": "string"},
        "weight": {"enum": ["Default", "Lighter", "Bolder"]},
        "size": {"enum": ["Default", "Small", "Medium", "Large", "ExtraLarge"]},
        "isSubtle": {"type": "boolean"},
    },
    "additionalProperties": False,
}
TEAMS_SCHEMA = {
    "type": "object",
    "required": ["type", "attachments"],
    "properties": {
        "type": {"const": "message"},
        "attachments": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["contentType", "content"],
                "properties": {
                    "contentType": {"const": "application/vnd.microsoft.card.adaptive"},
                    "contentUrl": {"type": ["string", "null"]},
                    "content": {
                        "type": "object",
                        "required": ["type", "version", "body"],
                        "properties": {
                            "$schema": {"type": "string"},
                            "type": {"const": "AdaptiveCard"},
                            "version": {"enum": ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"]},
                            "body": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["type", "inlines"],
                                    "properties": {
                                        "type": {"const": "RichTextBlock"},
                                        "inlines": {"type": "array", "items": _TEXT_RUN},
                                    },
                                    "additionalProperties": False,
                                },
                            },
                            "actions": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["type", "url"],
                                    "properties": {
                                        "type": {"const": "Action.OpenUrl"},
                                        "title": {"type": "string"},
                                        "url": {"type": "string", "format": "uri"},
                                    },
                                    "additionalProperties": False,
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}
