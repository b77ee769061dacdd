from django.contrib import admin

from quarterdeck.notify.models import (
    Delivery,
    DeliveryAttempt,
    Event,
    Notification,
    Preference,
    Subscription,
    Webhook,
)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "workspace", "following", "updated_at")
    list_filter = ("following", "workspace")
    raw_id_fields = ("user", "stakeholder", "feature", "need", "changed_by")


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ("__str__", "workspace", "email_frequency")
    list_filter = ("email_frequency", "workspace")
    raw_id_fields = ("user", "stakeholder")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("feature", "kind", "old_status", "new_status", "created_at", "fanned_out_at")
    list_filter = ("kind", "workspace")
    raw_id_fields = ("feature", "actor")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("__str__", "email_mode", "emailed_at", "read_at", "created_at")
    list_filter = ("kind", "email_mode", "workspace")
    raw_id_fields = ("event", "feature", "user", "stakeholder")


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("url", "workspace", "active", "created_at")
    list_filter = ("active", "workspace")
    raw_id_fields = ("created_by",)


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    readonly_fields = ("number", "ok", "response_status", "response_body", "error", "duration_ms")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("__str__", "channel", "state", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("channel", "state", "workspace")
    raw_id_fields = ("event", "notification", "webhook")
    inlines = [AttemptInline]
