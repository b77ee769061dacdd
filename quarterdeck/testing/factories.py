"""factory_boy factories for the domain. Every object lands in the workspace it is given."""

import datetime as dt

import factory
from django.utils import timezone

from quarterdeck.accounts.models import ApiToken, Membership, Role, User, Workspace
from quarterdeck.backlog.models import Evaluation, Feature, FeatureDriver
from quarterdeck.insights.models import Insight, InsightLink, Need, Segment, Stakeholder
from quarterdeck.squads.models import Squad, SquadMember
from quarterdeck.strategy.models import CheckIn, Driver, KeyResult, Objective


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password("password")


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"ws{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())

    @factory.post_generation
    def segments(self, create, extracted, **kwargs):
        if not create:
            return
        for key, name in (
            ("student", "Student"),
            ("mentor", "Mentor"),
            ("employer", "Employer"),
            ("employee", "Employee"),
        ):
            Segment.objects.get_or_create(workspace=self, key=key, defaults={"name": name})


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.PRODUCT_MANAGER


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment
        django_get_or_create = ("workspace", "key")

    workspace = factory.SubFactory(WorkspaceFactory)
    key = factory.Sequence(lambda n: f"segment{n}")
    name = factory.LazyAttribute(lambda o: o.key.title())


class StakeholderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stakeholder

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"stakeholder{n}@example.org")
    segment = factory.LazyAttribute(
        lambda o: Segment.objects.filter(workspace=o.workspace, key="student").first()
    )


class InsightFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Insight

    workspace = factory.SubFactory(WorkspaceFactory)
    text = factory.Faker("paragraph")
    source = "interview"
    channel = "interview"
    stakeholder = factory.SubFactory(
        StakeholderFactory, workspace=factory.SelfAttribute("..workspace")
    )
    segment = factory.LazyAttribute(lambda o: o.stakeholder.segment if o.stakeholder else None)
    captured_at = factory.LazyFunction(timezone.now)


class NeedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Need

    workspace = factory.SubFactory(WorkspaceFactory)
    title = factory.Sequence(lambda n: f"I'd like quicker access to my projects ({n})")


class InsightLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InsightLink

    need = factory.SubFactory(NeedFactory)
    workspace = factory.SelfAttribute("need.workspace")
    insight = factory.SubFactory(InsightFactory, workspace=factory.SelfAttribute("..workspace"))
    importance = 2


class SquadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Squad

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Squad {n}")


class SquadMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SquadMember

    squad = factory.SubFactory(SquadFactory)
    user = factory.SubFactory(UserFactory)
    role = "backend"


class DriverFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Driver

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Driver {n}")
    weight = 1.0


class FeatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feature

    workspace = factory.SubFactory(WorkspaceFactory)
    title = factory.Sequence(lambda n: f"Feature {n}")
    status = "new"


class FeatureDriverFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeatureDriver

    feature = factory.SubFactory(FeatureFactory)
    driver = factory.SubFactory(
        DriverFactory, workspace=factory.SelfAttribute("..feature.workspace")
    )
    contribution = 2


class EvaluationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Evaluation

    feature = factory.SubFactory(FeatureFactory)
    effort = 3.0
    risk = "medium"
    confidence = 0.8


class ObjectiveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Objective

    workspace = factory.SubFactory(WorkspaceFactory)
    title = "More engaged students"
    quarter = factory.LazyFunction(
        lambda: f"{timezone.localdate().year}-Q{(timezone.localdate().month - 1) // 3 + 1}"
    )


class KeyResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KeyResult

    objective = factory.SubFactory(ObjectiveFactory)
    metric = "Absenteeism rate"
    unit = "%"
    baseline = 25.0
    target = 20.0
    direction = "decrease"


class CheckInFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CheckIn

    key_result = factory.SubFactory(KeyResultFactory)
    value = 24.0
    confidence = 0.7
    checked_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=7))


def make_token(membership: Membership) -> str:
    """A live API token for a member; returns the secret."""
    key = ApiToken.generate_key()
    ApiToken.objects.create(
        workspace=membership.workspace,
        user=membership.user,
        key_hash=ApiToken.hash_key(key),
        key_hint=key[:10],
    )
    return key
