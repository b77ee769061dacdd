from django.contrib import admin

from quarterdeck.insights.models import Insight, InsightLink, Need, Segment, Stakeholder


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "weight", "workspace")
    list_filter = ("workspace",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "weight" in form.changed_data:  # every need's demand may weigh differently
            from quarterdeck.strategy.services import workspace_inputs_changed

            workspace_inputs_changed(
                workspace=obj.workspace, reason=str(obj.name), demand_changed=True
            )


@admin.register(Stakeholder)
class StakeholderAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "segment", "organisation", "weight", "workspace")
    list_filter = ("workspace", "segment")
    search_fields = ("name", "email", "organisation")


@admin.register(Insight)
class InsightAdmin(admin.ModelAdmin):
    list_display = ("summary", "source", "stakeholder", "segment", "state", "captured_at")
    list_filter = ("workspace", "state", "channel")
    search_fields = ("text", "external_id")
    raw_id_fields = ("stakeholder", "duplicate_of", "captured_by")


@admin.register(Need)
class NeedAdmin(admin.ModelAdmin):
    list_display = ("title", "state", "workspace")
    list_filter = ("workspace", "state")
    search_fields = ("title",)


@admin.register(InsightLink)
class InsightLinkAdmin(admin.ModelAdmin):
    list_display = ("insight", "need", "importance", "linked_by", "from_suggestion")
    raw_id_fields = ("insight", "need", "linked_by")
