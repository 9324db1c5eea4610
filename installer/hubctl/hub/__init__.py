"""Code that runs on the VM inside the hub's venv: hub.yaml -> JupyterHub, users, accounts."""
