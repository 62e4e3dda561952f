"""The DigitalOcean platform of a stack: network, cluster, databases, cluster add-ons, guard."""
