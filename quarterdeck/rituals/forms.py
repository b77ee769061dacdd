"""Input parsing for the rituals' pages; the rules live in services."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quarterdeck.accounts.models import User
from quarterdeck.backlog.models import Feature, Status
from quarterdeck.insights.models import Segment, Stakeholder
from quarterdeck.rituals.models import MeetingKind
from quarterdeck.squads.models import Squad


class MeetingForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=MeetingKind.choices)
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        required=False,
        help_text=_("Leave empty for “Priority review — Employer” and the like."),
    )
    scheduled_at = forms.DateTimeField(
        label=_("Date and time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), initial=60, min_value=5, max_value=1440
    )
    segment = forms.ModelChoiceField(
        label=_("Stakeholder group"),
        queryset=Segment.objects.none(),
        required=False,
        help_text=_("Required for a priority review."),
    )
    squad = forms.ModelChoiceField(
        label=_("Squad"),
        queryset=Squad.objects.none(),
        required=False,
        help_text=_("Required for an insights review; optional otherwise."),
    )
    attendee_users = forms.ModelMultipleChoiceField(
        label=_("Team attendees"), queryset=User.objects.none(), required=False
    )
    attendee_stakeholders = forms.ModelMultipleChoiceField(
        label=_("Stakeholder attendees"), queryset=Stakeholder.objects.none(), required=False
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.filter(workspace=workspace)
        self.fields["squad"].queryset = Squad.objects.filter(workspace=workspace)
        self.fields["attendee_users"].queryset = User.objects.filter(
            memberships__workspace=workspace
        ).order_by("full_name", "email")
        self.fields["attendee_stakeholders"].queryset = (
            Stakeholder.objects.filter(workspace=workspace).exclude(email="").order_by("name")
        )
        if not self.is_bound:
            now = timezone.localtime()
            self.initial.setdefault("scheduled_at", now.replace(minute=0, second=0, microsecond=0))


class NotesForm(forms.Form):
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 8})
    )
    attachments = forms.CharField(
        label=_("Data for the review"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Notes, links and figures you bring (Markdown)."),
    )


class DecisionForm(forms.Form):
    text = forms.CharField(
        label=_("Decision"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )
    features = forms.ModelMultipleChoiceField(
        label=_("Features it concerns"), queryset=Feature.objects.none(), required=False
    )
    move_to = forms.ChoiceField(
        label=_("Move these features to"),
        required=False,
        choices=[("", _("— no status change —")), *Status.choices],
    )
    reason = forms.CharField(
        label=_("Reason (told to the requesters when declining)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, features, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["features"].queryset = features


class EvaluationRequestForm(forms.Form):
    feature = forms.ModelChoiceField(label=_("Feature"), queryset=Feature.objects.none())
    assignee = forms.ModelChoiceField(label=_("Engineer"), queryset=User.objects.none())
    note = forms.CharField(
        label=_("What to look at"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, features, engineers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["feature"].queryset = features
        self.fields["assignee"].queryset = engineers


class FlagForm(forms.Form):
    feature = forms.ModelChoiceField(label=_("Feature"), queryset=Feature.objects.none())
    segment = forms.ModelChoiceField(
        label=_("At the review of"),
        queryset=Segment.objects.none(),
        required=False,
        empty_label=_("any group"),
    )
    note = forms.CharField(label=_("Question to decide"), max_length=300, required=False)

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["feature"].queryset = (
            Feature.objects.filter(workspace=workspace)
            .exclude(status__in=(Status.DECLINED, Status.SHIPPED, Status.MEASURED))
            .order_by("title")
        )
        self.fields["segment"].queryset = Segment.objects.filter(workspace=workspace)


class ShareForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Share"),
        choices=[("roadmap", _("Roadmap page")), ("calendar", _("Calendar feed (.ics)"))],
    )
    squad = forms.ModelChoiceField(
        label=_("Squad"), queryset=Squad.objects.none(), required=False, empty_label=_("All")
    )
    label = forms.CharField(label=_("Who is it for?"), max_length=150, required=False)

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["squad"].queryset = Squad.objects.filter(workspace=workspace)


class NewsletterForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body_markdown = forms.CharField(
        label=_("Text (Markdown)"),
        widget=forms.Textarea(attrs={"rows": 28, "spellcheck": "true"}),
    )
