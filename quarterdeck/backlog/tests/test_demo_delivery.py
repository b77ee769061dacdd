"""The demo workspace's delivery records agree with each feature's status."""

import pytest

from quarterdeck.backlog.models import Feature, Status
from quarterdeck.backlog.status import FLOW, GUARDS

pytestmark = pytest.mark.django_db


def _reached(status, step):
    return status in FLOW and FLOW.index(status) >= FLOW.index(step)


def test_demo_features_have_the_records_their_status_requires():
    from quarterdeck.demo import build_demo

    workspace = build_demo()
    features = list(Feature.objects.filter(workspace=workspace))
    assert features
    for feature in features:
        status = feature.status
        # Every guard of every step the feature went through is satisfied now (except the
        # slices rule, which applies only to the shipping step itself).
        for step in FLOW[1 : FLOW.index(status) + 1] if status in FLOW else []:
            for guard in GUARDS.get(step, []):
                if guard.__name__ in ("_slices_closed", "_measurement"):
                    continue
                assert guard(feature, "") is None, (feature.title, step, guard.__name__)
        if _reached(status, Status.DESIGNING):
            assert feature.ux_tests.exists(), feature.title
        if _reached(status, Status.READY_TO_DEPLOY):
            assert feature.comms_items.exists(), feature.title
        if _reached(status, Status.SHIPPED):
            assert not feature.rollout_stages.exclude(state="done").exists(), feature.title
            assert not feature.comms_items.filter(sent=False).exists(), feature.title
            assert feature.onboarding_steps.exists(), feature.title
        if status == Status.IN_QA:
            assert feature.qa_checks.exclude(result="pass").exists(), feature.title
    assert any(f.evaluation_requests.filter(state="open").exists() for f in features)
