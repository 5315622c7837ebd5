#if canImport(Glibc)
import Glibc
#endif
import FirmwareSim

exit(SimulatorCommandLine.main(Array(CommandLine.arguments.dropFirst())))
