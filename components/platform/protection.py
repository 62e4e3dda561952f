"""While the stack is protected, `pulumi destroy` deletes nothing.

The engine checks `protect` when a delete reaches a resource, not before the destroy starts:
without this guard, a destroy deletes every unprotected resource first (the whole application,
the database user and both database firewalls, which opens the databases to any address) and
only then fails on the protected VPC, cluster and databases. The real engine does exactly that;
the end-to-end suite shows it.

The guard is one protected resource with nothing in the cloud behind it (a `pulumi.Stash`, kept
by the engine itself) that depends on every other resource of the stack. A destroy deletes
dependents first, so the guard is the only resource it can start with; the delete fails on its
protection and the engine stops with nothing deleted. Its edges are plain `depends_on`, never
property dependencies, so replacing any other resource never involves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

MESSAGE = (
    "pulumi destroy stops here while protectResources is true; to delete the stack, set"
    " protectResources to false, run pulumi up, then pulumi destroy (README: Deleting a stack)"
)


@dataclass(frozen=True)
class DestroyGuardArgs:
    protect: bool
    guarded: Sequence[pulumi.Resource]  # every other component of the stack


class DestroyGuard(pulumi.ComponentResource):
    stash: pulumi.Stash

    def __init__(
        self, name: str, args: DestroyGuardArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("posts:platform:DestroyGuard", name, None, opts)
        self.stash = pulumi.Stash(
            f"{name}-stash",
            input=MESSAGE,
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, depends_on=list(args.guarded)
            ),
        )
        self.register_outputs({})
