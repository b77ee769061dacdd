import datetime as dt

import pytest
from django.core import mail as outbox
from django.core.exceptions import ValidationError
from django.utils import timezone

from quarterdeck.notify import selectors, services
from quarterdeck.notify.models import (
    Delivery,
    DeliveryState,
    EmailMode,
    Event,
    Frequency,
    Notification,
)
from quarterdeck.testing.factories import (
    FeatureFactory,
    InsightFactory,
    InsightLinkFactory,
    NeedFactory,
    StakeholderFactory,
)

pytestmark = pytest.mark.django_db


def _emails_to(address):
    return [m for m in outbox.outbox if address in m.to]


def test_stakeholder_who_asked_follows_the_feature_automatically(story):
    followers = selectors.feature_followers(story.feature)
    assert [(f.kind, f.id, f.reason) for f in followers] == [
        ("stakeholder", story.maria.pk, "asked")
    ]
    assert followers[0].needs == [story.need]


def test_explicit_unfollow_wins_over_the_automatic_follow(story, paula):
    services.unfollow(target=story.feature, stakeholder=story.maria, by=paula)
    assert selectors.feature_followers(story.feature) == []
    services.follow(target=story.feature, stakeholder=story.maria, by=paula)
    assert [f.reason for f in selectors.feature_followers(story.feature)] == ["explicit"]


def test_unfollowing_a_need_stops_the_follow_through_that_need(story, paula):
    services.unfollow(target=story.need, stakeholder=story.maria, by=paula)
    assert selectors.feature_followers(story.feature) == []


def test_following_a_need_follows_the_features_that_answer_it(story, carl):
    services.follow(target=story.need, user=carl, by=carl)
    followers = {f.key: f for f in selectors.feature_followers(story.feature)}
    assert followers[("user", carl.pk)].reason == "need"
    assert selectors.user_follows(carl, story.feature)
    assert selectors.user_follows(carl, story.need)


def test_a_stakeholder_who_is_also_a_member_is_told_once(story, acme, stella):
    StakeholderFactory(workspace=acme, name="Stella", email=stella.email)
    InsightLinkFactory(
        need=story.need,
        workspace=acme,
        insight=InsightFactory(workspace=acme, stakeholder__email="x@example.org"),
    )
    stakeholder = StakeholderFactory(workspace=acme, name="Stella S", email="stella2@example.org")
    services.follow(target=story.feature, user=stella, by=stella)
    services.follow(target=story.feature, stakeholder=stakeholder, by=stella)
    emails = [f.email for f in selectors.feature_followers(story.feature)]
    assert emails.count(stella.email) == 1


def test_following_needs_a_member_or_stakeholder_of_the_same_workspace(story, oscar, globex):
    with pytest.raises(ValidationError) as err:
        services.follow(target=story.feature, user=oscar, by=oscar)
    assert "user" in err.value.message_dict
    outsider = StakeholderFactory(workspace=globex)
    with pytest.raises(ValidationError) as err:
        services.follow(target=story.feature, stakeholder=outsider, by=oscar)
    assert "stakeholder" in err.value.message_dict


def test_only_important_steps_make_an_event(acme, paula, move):
    feature = FeatureFactory(workspace=acme, status="new")
    move(feature, "under_consideration", paula)
    assert not Event.objects.exists()
    move(feature, "studying", paula)
    assert list(Event.objects.values_list("kind", flat=True)) == ["studying"]


def test_ready_to_deploy_then_rolling_out_is_one_step(story, paula, move):
    feature = FeatureFactory(workspace=story.feature.workspace, status="ready_to_deploy")
    feature.needs.add(story.need)
    move(feature, "rolling_out", paula)
    assert not Event.objects.filter(feature=feature).exists()


def test_shipping_emails_the_stakeholder_who_asked_once(story, paula, move):
    move(story.feature, "shipped", paula)
    sent = _emails_to("maria@example.org")
    assert len(sent) == 1
    message = sent[0]
    assert message.subject == "Shipped: Project shortcuts"
    assert "Quicker access to my projects" in message.body
    assert "/u/" in message.body
    html = message.alternatives[0].content
    assert "Project shortcuts" in html and 'style="' in html
    assert message.extra_headers["List-Unsubscribe"].startswith("<http://quarterdeck.test/u/")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    notification = Notification.objects.get(stakeholder=story.maria)
    assert notification.delivery.state == DeliveryState.SENT
    assert notification.emailed_at is not None

    # Back to rolling out and shipped again, and the task run again: no second email.
    move(story.feature, "rolling_out", paula)
    move(story.feature, "shipped", paula)
    for event in Event.objects.all():
        services.event_fan_out(event_id=event.pk)
    for delivery in Delivery.objects.all():
        services.delivery_attempt(delivery_id=delivery.pk)
    assert len(_emails_to("maria@example.org")) == 1
    assert Notification.objects.filter(stakeholder=story.maria).count() == 1


def test_the_member_who_moved_it_is_not_told(story, paula, move):
    services.follow(target=story.feature, user=paula, by=paula)
    move(story.feature, "shipped", paula)
    assert not Notification.objects.filter(user=paula).exists()


def test_members_get_an_in_app_notice_and_an_email(story, paula, carl, move):
    services.follow(target=story.feature, user=carl, by=carl)
    move(story.feature, "shipped", paula)
    notice = Notification.objects.get(user=carl)
    assert notice.read_at is None
    assert selectors.unread_count(carl, story.feature.workspace) == 1
    message = _emails_to(carl.email)[0]
    text, html = message.body, message.alternatives[0].content
    assert f"http://quarterdeck.test/w/acme/features/{story.feature.pk}/" in text
    assert "/w/acme/notify/" in html


def test_declining_tells_followers_the_reason(story, paula, move):
    move(story.feature, "declined", paula, reason="It overlaps with the new dashboard.")
    message = _emails_to("maria@example.org")[0]
    assert message.subject == "Not planned: Project shortcuts"
    assert "It overlaps with the new dashboard." in message.body
    assert "It overlaps with the new dashboard." in message.alternatives[0].content


def test_email_text_is_escaped_in_html(acme, story, paula, move):
    story.feature.title = "<script>alert(1)</script>"
    story.feature.save()
    move(story.feature, "shipped", paula)
    html = _emails_to("maria@example.org")[0].alternatives[0].content
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_daily_digest_sends_no_immediate_email_then_one_digest(story, acme, paula, carl, move):
    services.preference_set(workspace=acme, user=carl, email_frequency=Frequency.DAILY, by=carl)
    services.follow(target=story.feature, user=carl, by=carl)
    other = FeatureFactory(workspace=acme, title="Calendar sync", status="under_consideration")
    services.follow(target=other, user=carl, by=carl)
    move(story.feature, "shipped", paula)
    move(other, "studying", paula)
    assert _emails_to(carl.email) == []
    assert Notification.objects.filter(user=carl, email_mode=EmailMode.DIGEST).count() == 2

    assert services.digests_send() == 1
    digest = _emails_to(carl.email)
    assert len(digest) == 1
    assert "2 updates" in digest[0].subject
    assert "Project shortcuts" in digest[0].body and "Calendar sync" in digest[0].body
    assert "List-Unsubscribe" in digest[0].extra_headers
    assert services.digests_send() == 0
    assert len(_emails_to(carl.email)) == 1


def test_no_email_preference_keeps_the_in_app_notice(story, acme, paula, carl, move):
    services.preference_set(workspace=acme, user=carl, email_frequency=Frequency.NEVER, by=carl)
    services.follow(target=story.feature, user=carl, by=carl)
    move(story.feature, "shipped", paula)
    assert _emails_to(carl.email) == []
    assert Notification.objects.get(user=carl).email_mode == EmailMode.NONE


def test_unknown_preference_is_refused(acme, carl):
    with pytest.raises(ValidationError) as err:
        services.preference_set(workspace=acme, user=carl, email_frequency="hourly")
    assert "email_frequency" in err.value.message_dict


def test_unsubscribe_link_stops_emails_about_that_feature(story, paula, move, acme):
    move(story.feature, "shipped", paula)
    message = _emails_to("maria@example.org")[0]
    token = message.extra_headers["List-Unsubscribe"].split("/u/")[1].rstrip("/>")
    target = services.unsubscribe(token=token)
    assert target.stakeholder == story.maria and target.feature == story.feature
    assert selectors.feature_followers(story.feature) == []
    # Other features she asked for still reach her.
    other = FeatureFactory(workspace=acme, status="in_engineering")
    other.needs.add(story.need)
    assert [f.id for f in selectors.feature_followers(other)] == [story.maria.pk]


def test_a_tampered_unsubscribe_token_is_refused(story):
    with pytest.raises(ValidationError):
        services.unsubscribe(token="not-a-token")


def test_workspace_isolation_of_followers(story, globex):
    need = NeedFactory(workspace=globex)
    InsightLinkFactory(need=need, workspace=globex)
    assert [f.id for f in selectors.feature_followers(story.feature)] == [story.maria.pk]


def test_backoff_grows_and_is_capped():
    waits = [services.backoff(n) for n in range(1, 8)]
    assert waits[:4] == [
        dt.timedelta(seconds=30),
        dt.timedelta(minutes=2),
        dt.timedelta(minutes=8),
        dt.timedelta(minutes=32),
    ]
    assert waits[-1] == dt.timedelta(hours=6)


def test_failed_email_is_retried_by_the_sweep(story, paula, move, settings):
    settings.EMAIL_BACKEND = "quarterdeck.notify.tests.test_services.BrokenBackend"
    move(story.feature, "shipped", paula)
    delivery = Delivery.objects.get(channel="email")
    assert delivery.state == DeliveryState.FAILED
    assert delivery.attempts == 1
    assert "SMTP is down" in delivery.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.deliveries_retry_due() == 0  # not due yet
    later = timezone.now() + dt.timedelta(minutes=1)
    assert services.deliveries_retry_due(now=later) == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT and delivery.attempts == 2
    assert len(_emails_to("maria@example.org")) == 1


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP is down")


def test_sweep_fans_out_an_event_a_worker_never_got_to(story, paula):
    event = Event.objects.create(
        workspace=story.feature.workspace,
        feature=story.feature,
        kind="shipped",
        old_status="rolling_out",
        new_status="shipped",
    )
    Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - dt.timedelta(minutes=5))
    services.deliveries_retry_due()
    assert len(_emails_to("maria@example.org")) == 1


def test_a_step_back_is_not_news(story, paula, move):
    move(story.feature, "shipped", paula)
    move(story.feature, "rolling_out", paula)
    assert list(Event.objects.values_list("kind", flat=True)) == ["shipped"]


def test_commands_send_digests_and_sweep_due_deliveries(story, acme, paula, carl, move):
    from io import StringIO

    from django.core.management import call_command

    services.preference_set(workspace=acme, user=carl, email_frequency=Frequency.DAILY, by=carl)
    services.follow(target=story.feature, user=carl, by=carl)
    move(story.feature, "shipped", paula)
    out = StringIO()
    call_command("send_digests", stdout=out)
    assert "1 digest email(s) sent." in out.getvalue()
    call_command("retry_due_deliveries", stdout=out)
    assert "0 delivery attempt(s) made." in out.getvalue()
    assert len(_emails_to(carl.email)) == 1
