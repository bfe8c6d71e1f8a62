"""Alerts to agents and leads about open flags (issue 7).

Pure core: `planning` (flags + history + config + now -> alerts), `digest`, `messages`, `schedule`.
Shell: `store` (alert log, Core statements), `channels` (DingTalk, WeCom, Slack, webhook, SMTP),
`service.run_alerts` (plan, store, deliver, record). CLI: tracker/commands/alerts.py.
"""
