"""Forms of the backlog pages. They parse input; the services validate and write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from quarterdeck.backlog.models import (
    OPEN_STATUSES,
    CommsChannel,
    Feature,
    QaResult,
    Risk,
    StageState,
    Verdict,
)

CONTRIBUTIONS = [(0, "0"), (1, "1"), (2, "2"), (3, "3")]
PARENT_CHOICES_LIMIT = 500


class DateInput(forms.DateInput):
    input_type = "date"


class RecordForm(forms.Form):
    """Several of these share the feature page: each gets its own id prefix for labels."""

    id_prefix = "f"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class FeatureForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 5}), required=False
    )
    squad = forms.ModelChoiceField(label=_("Squad"), queryset=None, required=False)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None, required=False)
    parent = forms.ModelChoiceField(
        label=_("Slice of"),
        queryset=None,
        required=False,
        help_text=_("Make this a shippable slice of a larger feature."),
    )
    needs = forms.ModelMultipleChoiceField(
        label=_("Needs it answers"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    key_results = forms.ModelMultipleChoiceField(
        label=_("Key results it aims at"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    expected_outcomes = forms.CharField(
        label=_("Expected outcomes"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_("One per line; QA checks each of them."),
    )
    target_release = forms.DateField(label=_("Target release"), required=False, widget=DateInput)

    def __init__(self, *args, workspace, instance: Feature | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        from quarterdeck.backlog.selectors import workspace_members
        from quarterdeck.insights.models import Need
        from quarterdeck.squads.models import Squad
        from quarterdeck.strategy.models import Driver, KeyResult

        self.workspace = workspace
        self.instance = instance
        self.fields["squad"].queryset = Squad.objects.filter(workspace=workspace)
        self.fields["owner"].queryset = workspace_members(workspace)
        parents = Feature.objects.filter(workspace=workspace, status__in=OPEN_STATUSES)
        if instance is not None:
            parents = parents.exclude(pk=instance.pk).exclude(parent_id=instance.pk)
        parent_ids = list(
            parents.order_by("-created_at").values_list("id", flat=True)[:PARENT_CHOICES_LIMIT]
        )
        current = self.initial.get("parent") or (instance.parent_id if instance else None)
        if current:
            parent_ids.append(getattr(current, "pk", current))
        self.fields["parent"].queryset = Feature.objects.filter(pk__in=parent_ids).order_by("title")
        self.fields["needs"].queryset = Need.objects.filter(workspace=workspace).order_by("title")
        self.fields["key_results"].queryset = KeyResult.objects.filter(
            objective__workspace=workspace
        ).select_related("objective")
        self.fields["key_results"].label_from_instance = lambda kr: f"{kr.objective} · {kr.metric}"
        self.drivers = list(Driver.objects.filter(workspace=workspace))
        current_links = {}
        if instance is not None:
            current_links = {fd.driver_id: fd.contribution for fd in instance.driver_links.all()}
        for driver in self.drivers:
            name = f"driver_{driver.pk}"
            self.fields[name] = forms.TypedChoiceField(
                label=driver.name,
                choices=CONTRIBUTIONS,
                coerce=int,
                initial=current_links.get(driver.pk, 0),
                required=False,
            )
        if instance is not None and not self.is_bound:
            for name in (
                "title",
                "description",
                "squad",
                "owner",
                "parent",
                "expected_outcomes",
                "target_release",
            ):
                self.initial.setdefault(name, getattr(instance, name))
            self.initial.setdefault("needs", list(instance.needs.all()))
            self.initial.setdefault("key_results", list(instance.key_results.all()))

    @property
    def driver_fields(self):
        return [self[f"driver_{d.pk}"] for d in self.drivers]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        drivers = {
            d: data.get(f"driver_{d.pk}") or 0
            for d in self.drivers
            if (data.get(f"driver_{d.pk}") or 0) > 0
        }
        return {
            "title": data["title"],
            "description": data["description"],
            "squad": data["squad"],
            "owner": data["owner"],
            "parent": data["parent"],
            "expected_outcomes": data["expected_outcomes"],
            "target_release": data["target_release"],
            "needs": list(data["needs"]),
            "key_results": list(data["key_results"]),
            "drivers": drivers,
        }


class TransitionForm(forms.Form):
    to = forms.CharField()
    reason = forms.CharField(required=False, widget=forms.Textarea)


class SliceForm(RecordForm):
    id_prefix = "slice"
    title = forms.CharField(label=_("Slice title"), max_length=200)


class EvaluationForm(RecordForm):
    id_prefix = "ev"
    effort = forms.FloatField(label=_("Effort (person-weeks)"), min_value=0)
    risk = forms.ChoiceField(label=_("Risk"), choices=Risk.choices, initial=Risk.MEDIUM)
    risk_notes = forms.CharField(
        label=_("Risk notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    confidence = forms.IntegerField(
        label=_("Confidence (%)"), min_value=0, max_value=100, initial=70
    )

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "effort": data["effort"],
            "risk": data["risk"],
            "risk_notes": data["risk_notes"],
            "confidence": data["confidence"] / 100,
        }


class EvaluationRequestForm(RecordForm):
    id_prefix = "er"
    assignee = forms.ModelChoiceField(label=_("Engineer"), queryset=None)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        from quarterdeck.backlog.selectors import engineers

        self.fields["assignee"].queryset = engineers(workspace)


class UxTestForm(RecordForm):
    id_prefix = "ux"
    prototype_url = forms.CharField(label=_("Prototype link"), required=False)
    tested_on = forms.DateField(label=_("Date"), required=False, widget=DateInput)
    participants = forms.ModelMultipleChoiceField(
        label=_("Panel"),
        queryset=None,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )
    findings = forms.CharField(
        label=_("Findings"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    verdict = forms.ChoiceField(label=_("Verdict"), choices=Verdict.choices)

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        from quarterdeck.insights.models import Stakeholder

        self.fields["participants"].queryset = Stakeholder.objects.filter(
            workspace=workspace
        ).select_related("segment")


class QaCheckForm(RecordForm):
    id_prefix = "qa"
    outcome = forms.CharField(label=_("Expected outcome"), max_length=300)
    result = forms.ChoiceField(label=_("Result"), choices=QaResult.choices)
    notes = forms.CharField(label=_("Notes"), required=False)


class QaResultForm(RecordForm):
    id_prefix = "qr"
    result = forms.ChoiceField(label=_("Result"), choices=QaResult.choices)
    notes = forms.CharField(label=_("Notes"), required=False)


class DemoForm(RecordForm):
    id_prefix = "demo"
    held_on = forms.DateField(label=_("Date"), widget=DateInput)
    audience = forms.CharField(label=_("Audience"), max_length=200)
    recording_url = forms.CharField(label=_("Recording link"), required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RolloutStageForm(RecordForm):
    id_prefix = "ro"
    starts_on = forms.DateField(label=_("Date"), required=False, widget=DateInput)
    percent = forms.IntegerField(
        label=_("Share of users (%)"), required=False, min_value=1, max_value=100
    )
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=None, required=False)
    state = forms.ChoiceField(label=_("State"), choices=StageState.choices)

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        from quarterdeck.insights.models import Segment

        self.fields["segment"].queryset = Segment.objects.filter(workspace=workspace)


class StageStateForm(RecordForm):
    id_prefix = "st"
    state = forms.ChoiceField(label=_("State"), choices=StageState.choices)


class CommsItemForm(RecordForm):
    id_prefix = "cm"
    audience = forms.CharField(label=_("Audience"), max_length=200)
    channel = forms.ChoiceField(label=_("Channel"), choices=CommsChannel.choices)
    message = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 2}))
    send_on = forms.DateField(label=_("Date"), required=False, widget=DateInput)
    sent = forms.BooleanField(label=_("Already sent"), required=False)


class OnboardingStepForm(RecordForm):
    id_prefix = "ob"
    title = forms.CharField(label=_("Step title"), max_length=200)
    body = forms.CharField(
        label=_("Text shown to users"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    order = forms.IntegerField(label=_("Order"), required=False, min_value=1)
