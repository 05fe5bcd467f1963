"""Running Haven: health probes, Prometheus metrics and log formatting (docs/deployment.md)."""
