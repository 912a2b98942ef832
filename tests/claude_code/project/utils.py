def total(items):
    x = 0
    for item in items:
        x += item
    return x
