from wavegate.cli import entry

entry()
