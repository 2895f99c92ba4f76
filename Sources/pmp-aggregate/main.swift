import PMPCommands

AggregateCommand.main()
