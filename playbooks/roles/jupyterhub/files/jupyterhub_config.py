# Installed by hubctl. Static on purpose: every setting comes from /etc/hubctl/hub.yaml,
# applied by hubctl.hub.settings (unit-tested); edit hub.yaml and run `hubctl install`.
from hubctl.hub.settings import apply_hub_yaml

apply_hub_yaml(c)  # noqa: F821 - `c` is JupyterHub's config object
