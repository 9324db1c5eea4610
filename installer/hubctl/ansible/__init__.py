"""The only code that runs Ansible: inventory, extra vars, progress, logs, failure messages."""
