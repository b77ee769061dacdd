from django.contrib import admin

from quarterdeck.backlog.models import Evaluation, Feature, FeatureDriver


class FeatureDriverInline(admin.TabularInline):
    model = FeatureDriver
    extra = 0


@admin.register(Feature)
class FeatureAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "squad", "owner", "score", "workspace")
    list_filter = ("workspace", "status", "squad")
    search_fields = ("title",)
    raw_id_fields = ("parent", "owner")
    filter_horizontal = ("needs", "key_results")
    inlines = [FeatureDriverInline]


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = ("feature", "effort", "risk", "confidence", "by", "created_at")
    raw_id_fields = ("feature",)
