"""The posts-infra policy pack: `pulumi preview --policy-pack policy` (or `pulumi up ...`).

The Pulumi CLI runs this file in the pack's own virtualenv (policy/requirements.txt); the
policies themselves are in policies.py, which the tests import offline.
"""

from policies import ENFORCEMENT, POLICIES
from pulumi_policy import PolicyPack

PolicyPack(name="posts-infra", enforcement_level=ENFORCEMENT, policies=POLICIES)
