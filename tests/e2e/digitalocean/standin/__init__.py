"""The DigitalOcean API stand-in, one module per resource family;
`tests/e2e/digitalocean/server.py` runs it (`python -m tests.e2e.digitalocean.server`) and
holds its client, `StandIn`.

- `common`: errors as DigitalOcean answers them, request-body checks, IDs and timestamps;
- `vpcs`, `kubernetes` (clusters, node pools, credentials), `databases` (clusters),
  `database_settings` (eviction policy, SQL mode, firewall, config), `database_contents` (dbs
  and users), `domains` (and their records), `tags`, `monitoring` (Uptime checks and alerts,
  alert policies): the state of each family;
- `account`: `DigitalOcean`, the account that holds them all, its request log and faults;
- `app` and `routes`: the Flask application over it.
"""
