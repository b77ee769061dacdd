from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from quarterdeck.squads.models import SquadRole


def _members(workspace):
    from quarterdeck.accounts.models import User

    return User.objects.filter(memberships__workspace=workspace).order_by("full_name", "email")


class SquadForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    mission = forms.CharField(
        label=_("Mission"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the squad is for, in one or two sentences."),
    )
    product_manager = forms.ModelChoiceField(
        label=_("Product manager"), queryset=None, required=False, empty_label=_("None yet")
    )
    color = forms.CharField(
        label=_("Colour"),
        max_length=7,
        initial="#2563eb",
        widget=forms.TextInput(attrs={"type": "color"}),
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour like #2563eb."))],
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product_manager"].queryset = _members(workspace)


class MemberForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Person"), queryset=None)
    role = forms.ChoiceField(label=_("Role"), choices=SquadRole.choices)

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = _members(workspace)
