import ArgumentParser
import Logging
import VigilCore
import VigilFleet
import VigilInference
import VigilObservability

/// `vigil-trainer release`: publishes a bundle and its signed rule, and optionally watches the
/// canaries.
struct ReleaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Publish a signed bundle and its signed rollout rule, retained, to the fleet.",
        discussion: """
            Agents refuse a lower version than they run unless the rule is a rollback. With --watch, waits \
            for N canaries to report the version installed, then releases it to the whole fleet; at the \
            first refusal or rollback, re-releases --previous as a rollback and exits 4.
            """)

    @OptionGroup var central: CentralOptions
    @Option(help: "The bundle (.vgm), signed by --key.")
    var bundle: String
    @Option(help: "The signing key (PREFIX.key): it signs the rule.")
    var key: String
    @Option(help: "The share of agents to release to (0 to 1).")
    var canary: Double?
    @Option(help: "Release to the agents with these devices, comma-separated.")
    var devices: String?
    @Flag(help: "Let agents install a version lower than the one they run.")
    var rollback = false
    @Option(help: "Seconds to watch the canaries' reports.")
    var watch: Double?
    @Option(help: "Canaries that must install it before the whole fleet gets it.")
    var canaries = 1
    @Option(help: "The model to roll back to if a canary fails.")
    var previous: String?

    func validate() throws {
        guard (canary == nil) != (devices == nil) else { throw ValidationError("give one of --canary SHARE and --devices D1,D2") }
        if let canary, !(canary > 0 && canary <= 1) { throw ValidationError("--canary must be a share in (0, 1], got \(canary)") }
    }

    func run() throws {
        let central = try central.central()
        let signing = try signingKey(file: key)
        let rollout: ReleaseRule.Rollout = canary.map { .canary($0) } ?? .devices(devices!.split(separator: ",").map(String.init))
        let bytes = try FileSystem.read(bundle)
        let model = try ModelBundle(bytes: bytes, trustedKeys: [signing.publicKey])
        let messages = Release.messages(for: model, bytes: bytes, rollout: rollout, rollback: rollback, topics: central.topics,
                                        key: signing, releasedAt: WallClock.now())
        try Release.publish(messages, central: central)
        for message in messages { print("published \(message.topic) (\(message.payload.count) bytes, retained)") }
        guard let watch else { return }
        let old = try previous.map { file in
            let oldBytes = try FileSystem.read(file)
            return (bundle: try ModelBundle(bytes: oldBytes, trustedKeys: [signing.publicKey]), bytes: oldBytes)
        }
        let outcome = try RolloutWatch.watch(bundle: model, bytes: bytes, previous: old, canaries: canaries, timeout: watch,
                                             central: central, key: signing,
                                             logger: Logger(label: "vigil-trainer", factory: { KeyValueLogHandler(label: $0) }))
        if case .rolledBack = outcome { throw ExitCode(4) }
    }
}
