#if canImport(Glibc)
import Glibc
#endif
import VigilAgent

exit(AgentCommandLine.main(Array(CommandLine.arguments.dropFirst())))
