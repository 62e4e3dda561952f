"""Operator commands run against the real stacks (not offline): drift detection and its issue."""
