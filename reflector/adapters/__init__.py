"""What the product talks to: PostgreSQL, Redis (queue and events), the object store, error tracking, logs,
and the machine-wide lock between heavy steps."""
