COMMANDS: list[object] = []
