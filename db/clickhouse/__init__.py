"""The ClickHouse store: searches, rejects, state and rollups on a store without
transactions (design and status: docs/clickhouse.md). Reached through `db.store`."""
