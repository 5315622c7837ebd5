#if canImport(Glibc)
import Glibc
#endif
import VigilTrainer

exit(TrainerCommandLine.main(Array(CommandLine.arguments.dropFirst())))
