from quarterdeck.core.navigation import nav_items


def workspace(request):
    ws = getattr(request, "workspace", None)
    if ws is None:
        return {}
    return {
        "workspace": ws,
        "membership": request.membership,
        "can_write": request.membership.can_write,
        "can_manage": request.membership.can_manage,
        "nav": nav_items(request),
    }
