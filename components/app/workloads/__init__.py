"""The seed's workloads, one module each, composed by `components.app.Application`."""
