import ArgumentParser
import VigilCore
import VigilInference

/// `vigil-trainer keygen`: a new signing key pair.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write an Ed25519 key pair: PREFIX.key (private, mode 0600 from its creation) and PREFIX.pub (give it to agents).")

    @Option(help: "Where the keys go: PREFIX.key and PREFIX.pub.")
    var out: String

    func run() throws {
        let pair = Ed25519.generate()
        try FileSystem.writeAtomically(Array((ModelBundle.hex(pair.privateKey) + "\n").utf8), to: out + ".key", mode: 0o600)
        try FileSystem.writeAtomically(Array((ModelBundle.hex(pair.publicKey) + "\n").utf8), to: out + ".pub", mode: 0o644)
        print("wrote \(out).key (keep it secret) and \(out).pub (public key \(ModelBundle.hex(pair.publicKey)))")
    }
}
