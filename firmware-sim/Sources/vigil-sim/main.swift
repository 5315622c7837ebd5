import FirmwareSim

SimulatorCommand.main()
