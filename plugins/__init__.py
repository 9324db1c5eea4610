"""hubctl's built-in course plugins, each registered under the `hubctl` entry-point group."""
