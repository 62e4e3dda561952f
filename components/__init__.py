"""posts-infra components: one module per concern (see ../shared/DESIGN.md)."""
