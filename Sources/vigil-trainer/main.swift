#if canImport(Glibc)
import Glibc
#endif
import VigilTrainer

exit(TrainerCommand.run(Array(CommandLine.arguments.dropFirst())))
