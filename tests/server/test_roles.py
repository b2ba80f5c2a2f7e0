"""Roles from groups through the policy's [roles] table."""

import pytest

from aigate.protocol import Role
from aigate.server.policy import PolicyError, parse_policy

RULE = '[[rules]]\ngroups = ["*"]\ntools = ["*"]\napproval = "required"\n'


def test_groups_in_roles_give_approver_and_admin_and_never_lower_a_stored_role():
    roles = parse_policy('[roles]\napprovers = ["eng-leads"]\nadmins = ["it-admins"]\n' + RULE).roles
    assert roles.role_for(["dev", "eng-leads"]) == Role.APPROVER
    assert roles.role_for(["eng-leads", "it-admins"]) == Role.ADMIN
    assert roles.role_for(["dev"]) == Role.USER
    assert roles.role_for(["dev"], Role.ADMIN) == Role.ADMIN


def test_a_policy_without_roles_gives_nobody_a_role():
    assert parse_policy(RULE).roles.role_for(["eng-leads"]) == Role.USER


@pytest.mark.parametrize(("table", "said"), [
    ('[roles]\napprovers = "eng-leads"\n', "line 2: [roles] approvers must be a list of group names"),
    ('[roles]\nadmins = ["*"]\n', "line 2: [roles] admins must be a list"),
    ('[roles]\nreviewers = ["x"]\n', "line 2: unknown setting 'reviewers' in [roles]"),
    ('roles = ["x"]\n', "line 1: roles must be a table"),
])
def test_a_wrong_roles_table_is_refused_with_its_line(table, said):
    with pytest.raises(PolicyError) as caught:
        parse_policy(table + RULE)
    assert any(p.startswith(said) for p in caught.value.problems), caught.value.problems
