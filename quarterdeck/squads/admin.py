from django.contrib import admin

from quarterdeck.squads.models import Squad, SquadMember


class SquadMemberInline(admin.TabularInline):
    model = SquadMember
    extra = 0


@admin.register(Squad)
class SquadAdmin(admin.ModelAdmin):
    list_display = ("name", "product_manager", "workspace")
    list_filter = ("workspace",)
    inlines = [SquadMemberInline]
