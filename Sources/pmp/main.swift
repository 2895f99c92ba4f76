import PMPCommands

PMPCommand.main()
