"""Who publishes SLA policy versions for which projects, and which version governs a project."""

from __future__ import annotations

import pytest

from services.dispatch.domain.sla import governing, publishing_scope, visible_to
from shared.errors import NotFound


def test_a_policys_scope_follows_its_authors_projects() -> None:
    assert publishing_scope(frozenset({"sunny"}), False, None) == frozenset({"sunny"})


def test_only_an_author_granted_every_project_publishes_tenant_wide() -> None:
    assert publishing_scope(frozenset({"*"}), True, None) is None
    assert publishing_scope(frozenset({"*"}), True, frozenset({"river"})) == frozenset({"river"})


def test_an_author_may_not_publish_for_a_project_they_do_not_see() -> None:
    with pytest.raises(NotFound) as refused:
        publishing_scope(frozenset({"sunny"}), False, frozenset({"sunny", "river"}))

    assert refused.value.code == "unknown_project"


def test_the_newest_version_covering_a_project_governs_it() -> None:
    versions = [(2, None), (3, frozenset({"sunny"})), (4, frozenset({"river"}))]

    assert governing(versions, "sunny") == 3
    assert governing(versions, "river") == 4
    assert governing(versions, "lake") == 2
    assert governing(versions, None) == 2
    assert governing([(3, frozenset({"sunny"}))], None) is None


def test_a_reader_sees_tenant_wide_versions_and_those_of_their_projects() -> None:
    assert visible_to(None, frozenset({"river"}), False)
    assert visible_to(frozenset({"sunny", "river"}), frozenset({"river"}), False)
    assert not visible_to(frozenset({"sunny"}), frozenset({"river"}), False)
    assert visible_to(frozenset({"sunny"}), frozenset({"*"}), True)
