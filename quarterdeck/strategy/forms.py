"""Forms of the OKR, driver and prioritization pages. They parse input; services validate rules."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quarterdeck.strategy.models import Direction

MAX_CSV_BYTES = 1_000_000


def member_choices(workspace):
    from quarterdeck.accounts.models import User

    return User.objects.filter(memberships__workspace=workspace).order_by("full_name", "email")


class ObjectiveForm(forms.Form):
    title = forms.CharField(label=_("Objective"), max_length=200)
    description = forms.CharField(label=_("Why it matters"), required=False, widget=forms.Textarea)
    quarter = forms.CharField(
        label=_("Quarter"), max_length=7, help_text=_("Written YYYY-Qn, e.g. 2026-Q4.")
    )
    squad = forms.ModelChoiceField(
        label=_("Squad"), queryset=None, required=False, empty_label=_("Company-level")
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=None, required=False, empty_label=_("No owner")
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        from quarterdeck.squads.models import Squad

        self.fields["squad"].queryset = Squad.objects.filter(workspace=workspace)
        self.fields["owner"].queryset = member_choices(workspace)


class KeyResultForm(forms.Form):
    metric = forms.CharField(label=_("Metric"), max_length=200)
    unit = forms.CharField(label=_("Unit"), max_length=32, required=False)
    baseline = forms.FloatField(label=_("Baseline"))
    target = forms.FloatField(label=_("Target"))
    direction = forms.ChoiceField(
        label=_("Direction"), choices=Direction.choices, initial=Direction.INCREASE
    )


class CheckInForm(forms.Form):
    value = forms.FloatField(label=_("Value"))
    confidence = forms.FloatField(
        label=_("Confidence"),
        min_value=0,
        max_value=1,
        initial=0.7,
        help_text=_("0 to 1: how sure you are the target will be reached."),
        widget=forms.NumberInput(attrs={"step": "0.1"}),
    )
    checked_on = forms.DateField(
        label=_("Date"), initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"})
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CheckInCsvForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("Columns date,value,confidence,comment (confidence and comment optional)."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise ValidationError(_("The file is larger than 1 MB."))
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(_("The file is not UTF-8 text.")) from exc


class DriverForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    weight = forms.FloatField(
        label=_("Weight"), min_value=0, widget=forms.NumberInput(attrs={"step": "0.1"})
    )


class MeasureForm(forms.Form):
    window_days = forms.IntegerField(
        label=_("Window (days after shipping)"), min_value=1, max_value=365, initial=30
    )
    expected_change = forms.FloatField(
        label=_("Expected change"),
        required=False,
        help_text=_("How much the key result should move; leave empty to use the last one."),
    )
