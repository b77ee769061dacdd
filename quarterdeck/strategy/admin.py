from django.contrib import admin

from quarterdeck.strategy.models import CheckIn, Driver, KeyResult, Objective


@admin.register(Driver)
class DriverAdmin(admin.ModelAdmin):
    list_display = ("name", "weight", "workspace")
    list_filter = ("workspace",)


class KeyResultInline(admin.TabularInline):
    model = KeyResult
    extra = 0


@admin.register(Objective)
class ObjectiveAdmin(admin.ModelAdmin):
    list_display = ("title", "quarter", "squad", "workspace")
    list_filter = ("workspace", "quarter")
    inlines = [KeyResultInline]


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin):
    list_display = ("key_result", "value", "confidence", "checked_on")
