"""Real Debian test guests (systemd-nspawn) for `hubctl sandbox` and the e2e tests."""
