"""Forms of the insights pages. They parse input only; the services validate and save."""

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quarterdeck.insights.models import Channel, Importance, Segment

IMPORTANCE_CHOICES = [
    (Importance.NICE_TO_HAVE, _("1 · Nice to have")),
    (Importance.IMPORTANT, _("2 · Important")),
    (Importance.CRITICAL, _("3 · Critical")),
]


class WorkspaceForm(forms.Form):
    """A form whose choices come from one workspace."""

    def __init__(self, *args, workspace, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        if "segment" in self.fields:
            self.fields["segment"].queryset = Segment.objects.filter(workspace=workspace)
        if "segments" in self.fields:
            self.fields["segments"].queryset = Segment.objects.filter(workspace=workspace)


class LinkForm(forms.Form):
    """Link the insight to a need chosen from the search, or to a new need titled `title`."""

    need = forms.CharField(required=False)
    title = forms.CharField(label=_("Need"), max_length=200, required=False, strip=True)
    importance = forms.TypedChoiceField(
        label=_("Importance for this person"),
        choices=IMPORTANCE_CHOICES,
        coerce=int,
        initial=Importance.IMPORTANT,
    )
    highlight = forms.CharField(
        label=_("Quote"), required=False, strip=True, widget=forms.Textarea(attrs={"rows": 3})
    )
    action = forms.CharField(required=False)

    def clean(self):
        data = super().clean()
        need = (data.get("need") or "").strip()
        creates = data.get("action") == "create" or need == "new"
        if creates:
            if not data.get("title") and not data.get("highlight"):
                raise forms.ValidationError(
                    {"title": _("Type a title for the new need, or select a quote to use.")}
                )
            data["need_id"] = None
        else:
            if not need.isdigit():
                raise forms.ValidationError(
                    {"need": _("Choose a need to link to, or create a new one.")}
                )
            data["need_id"] = int(need)
        data["creates"] = creates
        return data

    @property
    def new_title(self) -> str:
        data = self.cleaned_data
        return data.get("title") or data.get("highlight", "")[:200]


class InsightForm(WorkspaceForm):
    """An insight typed or pasted by a person (interview notes, a forwarded email...)."""

    text = forms.CharField(
        label=_("What did they say?"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Paste interview notes, an email or a ticket; keep the customer's words."),
    )
    stakeholder_email = forms.CharField(
        label=_("Stakeholder email"),
        required=False,
        max_length=254,
        help_text=_("An existing stakeholder is picked by email; a new email creates one."),
        widget=forms.EmailInput(attrs={"list": "stakeholder-emails", "autocomplete": "off"}),
    )
    stakeholder_name = forms.CharField(label=_("Name"), required=False, max_length=150)
    segment = forms.ModelChoiceField(
        label=_("Segment"),
        queryset=Segment.objects.none(),
        required=False,
        empty_label=_("The stakeholder's segment"),
    )
    channel = forms.ChoiceField(
        label=_("Source"), choices=Channel.choices, initial=Channel.INTERVIEW
    )
    captured_on = forms.DateField(
        label=_("Captured on"), widget=forms.DateInput(attrs={"type": "date"}), required=False
    )
    importance = forms.TypedChoiceField(
        label=_("Importance"),
        choices=[("", _("Not set"))] + IMPORTANCE_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )
    tags = forms.CharField(
        label=_("Tags"), required=False, help_text=_("Comma-separated, e.g. onboarding, mobile")
    )

    def clean_captured_on(self):
        value = self.cleaned_data.get("captured_on")
        if value and value > timezone.localdate():
            raise forms.ValidationError(_("The captured date cannot be in the future."))
        return value

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "text": data["text"],
            "stakeholder_email": data.get("stakeholder_email", ""),
            "stakeholder_name": data.get("stakeholder_name", ""),
            "segment": data.get("segment"),
            "source": data["channel"],
            "channel": data["channel"],
            "captured_at": captured_at(data.get("captured_on")),
            "importance": data.get("importance"),
            "tags": data.get("tags", ""),
        }


class InsightEditForm(WorkspaceForm):
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 8}))
    segment = forms.ModelChoiceField(
        label=_("Segment"), queryset=Segment.objects.none(), required=False
    )
    channel = forms.ChoiceField(label=_("Source"), choices=Channel.choices)
    captured_on = forms.DateField(
        label=_("Captured on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    importance = forms.TypedChoiceField(
        label=_("Importance"),
        choices=[("", _("Not set"))] + IMPORTANCE_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Comma-separated"))

    @classmethod
    def initial_for(cls, insight) -> dict:
        return {
            "text": insight.text,
            "segment": insight.segment_id,
            "channel": insight.channel,
            "captured_on": timezone.localdate(insight.captured_at),
            "importance": insight.importance,
            "tags": ", ".join(insight.tags or []),
        }

    def changes(self, insight) -> dict:
        """The fields to give insight_update: only those that changed."""
        data = self.cleaned_data
        fields = {
            "text": data["text"],
            "segment": data.get("segment"),
            "channel": data["channel"],
            "importance": data.get("importance"),
            "tags": data.get("tags", ""),
        }
        if data["channel"] != insight.channel and insight.source == insight.channel:
            fields["source"] = data["channel"]
        if data["captured_on"] != timezone.localdate(insight.captured_at):
            fields["captured_at"] = captured_at(data["captured_on"])
        return fields


class NeedForm(WorkspaceForm):
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        help_text=_("The problem in the user's words: “As a student I'd like…”"),
    )
    description = forms.CharField(
        label=_("Problem statement"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Who has the problem, when, and what it costs them."),
    )
    segments = forms.ModelMultipleChoiceField(
        label=_("Segments affected"),
        queryset=Segment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


def captured_at(day: dt.date | None) -> dt.datetime | None:
    """Noon of `day` in the current time zone (a date typed by a person has no time)."""
    if day is None:
        return None
    if day == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))
