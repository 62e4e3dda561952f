"""The pure model: DigitalOcean's catalog and the capacity model. Plain Python, no `pulumi`."""
