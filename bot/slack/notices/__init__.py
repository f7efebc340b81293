"""The parts of the `SlackNotifier` (`bot.slack.notifier`), one concept each, each extending the one before:
`units` (sending one notice, owing and retrying it, where messages are), `delivery` (the password),
`lifecycle` (a request's card, DM status, thread notes and reminders), `breakglass`."""
