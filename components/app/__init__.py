"""The application on the cluster: its workloads and its public entry."""
