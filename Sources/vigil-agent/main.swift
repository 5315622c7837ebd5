#if canImport(Glibc)
import CMalloc
import Glibc
#endif
import VigilAgent

#if canImport(Glibc)
// A motor's vibration capture parses into arrays of 64 kB, freed together. In glibc's heap they
// leave holes the next ones rarely fit, and the peak grew with the fleet (bench-memory, 1,000
// mixed devices: 44 to 47 MB); mapped and unmapped whole, 27 MB. At 32 kB, smaller buffers of
// the scalar ingest path were mapped too, and it drained 10 to 25% slower.
mallopt(M_MMAP_THRESHOLD, 64 << 10)
#endif
exit(AgentCommandLine.main(Array(CommandLine.arguments.dropFirst())))
