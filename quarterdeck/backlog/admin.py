from django.contrib import admin

from quarterdeck.backlog.models import (
    CommsItem,
    Demo,
    Evaluation,
    EvaluationRequest,
    Feature,
    FeatureDriver,
    OnboardingStep,
    QaCheck,
    RolloutStage,
    UxTest,
)


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


@admin.register(EvaluationRequest)
class EvaluationRequestAdmin(admin.ModelAdmin):
    list_display = ("feature", "assignee", "state", "created_at")
    list_filter = ("state",)
    raw_id_fields = ("feature", "evaluation")


@admin.register(UxTest)
class UxTestAdmin(admin.ModelAdmin):
    list_display = ("feature", "round", "verdict", "tested_on")
    raw_id_fields = ("feature",)
    filter_horizontal = ("participants",)


@admin.register(QaCheck)
class QaCheckAdmin(admin.ModelAdmin):
    list_display = ("feature", "outcome", "result", "checked_at")
    list_filter = ("result",)
    raw_id_fields = ("feature",)


@admin.register(RolloutStage)
class RolloutStageAdmin(admin.ModelAdmin):
    list_display = ("feature", "order", "starts_on", "percent", "segment", "state")
    raw_id_fields = ("feature",)


@admin.register(Demo)
class DemoAdmin(admin.ModelAdmin):
    list_display = ("feature", "held_on", "audience")
    raw_id_fields = ("feature",)


@admin.register(CommsItem)
class CommsItemAdmin(admin.ModelAdmin):
    list_display = ("feature", "channel", "audience", "send_on", "sent")
    raw_id_fields = ("feature",)


@admin.register(OnboardingStep)
class OnboardingStepAdmin(admin.ModelAdmin):
    list_display = ("feature", "order", "title")
    raw_id_fields = ("feature",)
