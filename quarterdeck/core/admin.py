from django.contrib import admin

from quarterdeck.core.models import Activity


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("created_at", "workspace", "actor", "verb", "target_type", "target_label")
    list_filter = ("workspace", "verb", "target_type")
    search_fields = ("target_label", "message")
    readonly_fields = [f.name for f in Activity._meta.fields]
