#if canImport(Glibc)
import Glibc
#endif
import Logging
import VigilCore
import VigilInference
import VigilObservability

/// The `vigil-agent` command line: `run`, `status`, `help`. Kept by hand rather than with an
/// argument-parsing package: the agent stays small, and three subcommands need little.
public enum AgentCommandLine {
    static let usage = """
        vigil-agent: the Vigil edge agent. Subscribes to device sensor streams over MQTT and keeps
        every reading in a local SQLite database, with duplicates dropped, gaps counted and bad
        payloads kept as dead letters with their reason.

        USAGE
          vigil-agent run --config FILE [--log-level LEVEL]
              Run until SIGINT or SIGTERM, then commit what was received and exit. Logs go to
              standard error, one key=value line per event, at LEVEL and above: trace, debug,
              info (the default), notice, warning, error or critical.
          vigil-agent status (--config FILE | --db FILE) [--json]
              Print what the database holds: messages, duplicates, gaps, dead letters per
              device and reason. Safe while the agent runs.
          vigil-agent watch (--config FILE | --db FILE) [--interval SECONDS] [--duration SECONDS]
              A live view, refreshed every interval (default 1 s): messages and samples per
              second per device type, refusals by reason, gaps, labels, database size.
          vigil-agent model inspect FILE [--key PUBLIC_KEY_FILE]
              Print a model bundle's manifest, size and signer, and whether its signature
              verifies with the given key (hex of a 32-byte Ed25519 public key).
          vigil-agent model verify FILE --key PUBLIC_KEY_FILE
              Exit 0 only if the bundle is well-formed and signed by that key.
          vigil-agent check --config FILE
              Validate the config and the device profiles, print the subscriptions, and exit.
          vigil-agent help
              This text.

        CONFIG
          A JSON file; see the README's config reference. Every field but broker.url has a
          default, unknown fields are refused, relative paths are relative to the file.

        EXIT STATUS
          0 on success, 1 when the agent or a command fails, 64 for bad usage (an unknown command,
          flag or value), 78 for a bad config or device profile.
        """

    /// Exit statuses for bad usage and a bad config (sysexits' EX_USAGE and EX_CONFIG).
    static let badUsage: Int32 = 64
    static let badConfiguration: Int32 = 78

    /// Runs the command in `arguments` (without the program name); returns the exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        guard let command = arguments.first else {
            StandardError.write(usage + "\n")
            return badUsage
        }
        var options: [String: String] = [:]
        var flags: Set<String> = []
        var rest = arguments.dropFirst()
        var positional: [String] = []
        while let argument = rest.popFirst() {
            switch argument {
            case "--config", "--db", "--interval", "--duration", "--key", "--log-level":
                guard let value = rest.popFirst() else { return fail("\(argument) needs a value", status: badUsage) }
                options[argument] = value
            case "--json", "--help", "-h":
                flags.insert(argument)
            default:
                guard command == "model", !argument.hasPrefix("-") else {
                    return fail("unknown argument \"\(argument)\" (see vigil-agent help)", status: badUsage)
                }
                positional.append(argument)
            }
        }
        if !flags.isDisjoint(with: ["--help", "-h"]) {
            print(usage)
            return 0
        }
        do {
            switch command {
            case "run":
                guard let file = options["--config"] else { return fail("run needs --config FILE", status: badUsage) }
                let level: Logger.Level
                do {
                    level = try Logger.Level(parsing: options["--log-level"] ?? "info")
                } catch {
                    return fail("--log-level: \(error)", status: badUsage)
                }
                return try run(configuration: AgentConfiguration.load(file: file), level: level)
            case "check":
                guard let file = options["--config"] else { return fail("check needs --config FILE", status: badUsage) }
                let agentConfiguration = try AgentConfiguration.load(file: file)
                let profiles = try DeviceProfile.loadAll(folder: agentConfiguration.devices)
                print("config ok: \(profiles.count) device profiles (\(profiles.map(\.type).joined(separator: ", ")))")
                print("subscriptions: \(agentConfiguration.subscriptions(for: profiles).joined(separator: ", "))")
                return 0
            case "status", "watch":
                let path: String
                if let database = options["--db"] {
                    path = database
                } else if let file = options["--config"] {
                    path = try AgentConfiguration.load(file: file).database
                } else {
                    return fail("\(command) needs --config FILE or --db FILE", status: badUsage)
                }
                if command == "status" {
                    let status = try AgentStatus.read(database: path)
                    print(flags.contains("--json") ? status.json() : status.text())
                    return 0
                }
                guard let interval = Double(options["--interval"] ?? "1"), interval >= 0.1 else {
                    return fail("--interval must be at least 0.1 seconds", status: badUsage)
                }
                let duration = options["--duration"].flatMap(Double.init)
                if options["--duration"] != nil && duration == nil { return fail("--duration must be seconds", status: badUsage) }
                _ = try LiveView.watch(database: path, interval: interval, duration: duration)
                return 0
            case "model":
                guard positional.count == 2, ["inspect", "verify"].contains(positional[0]) else {
                    return fail("model needs inspect FILE or verify FILE --key KEY", status: badUsage)
                }
                return try model(positional[0], file: positional[1], keyFile: options["--key"])
            case "help", "--help", "-h":
                print(usage)
                return 0
            default:
                return fail("unknown command \"\(command)\" (see vigil-agent help)", status: badUsage)
            }
        } catch let error as ConfigurationError {
            return fail("\(error)", status: badConfiguration)
        } catch {
            return fail("\(error)", status: 1)
        }
    }

    private static func run(configuration: AgentConfiguration, level: Logger.Level) throws -> Int32 {
        LoggingSystem.bootstrap { KeyValueLogHandler(label: $0, level: level) }
        let logger = Logger(label: "vigil-agent").component("agent")
        // Block the stop signals in every thread (threads inherit the mask), then wait for
        // them here: no signal handler runs on a thread that holds a lock.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let agent = try Agent(configuration: configuration, logger: Logger(label: "vigil-agent"))
        agent.start()
        var received: Int32 = 0
        sigwait(&signals, &received)
        logger.notice("stopping", metadata: ["signal": "\(received)"])
        agent.stop()
        logger.notice("stopped; everything received is committed")
        return 0
    }

    private static func model(_ action: String, file: String, keyFile: String?) throws -> Int32 {
        let bytes = try FileSystem.read(file)
        let key = try keyFile.map { file throws(ConfigurationError) in try Ed25519.key(hexFile: file) }
        if action == "verify" {
            guard let key else { return fail("model verify needs --key", status: badUsage) }
            do {
                let bundle = try ModelBundle(bytes: bytes, trustedKeys: [key])
                print("\(file): verified: \(bundle.manifest.name) \(bundle.manifest.version), sha256 \(bundle.digest)")
                return 0
            } catch {
                return fail("\(file): \(error)", status: 1)
            }
        }
        let (manifest, signer, digest) = try ModelBundle.inspect(bytes: bytes)
        print("\(manifest.name) \(manifest.version)   \(bytes.count) bytes   sha256 \(digest)")
        print("signer  \(ModelBundle.hex(signer))")
        if let key {
            do {
                _ = try ModelBundle(bytes: bytes, trustedKeys: [key])
                print("signature  verifies with the given key")
            } catch {
                print("signature  DOES NOT VERIFY: \(error)")
            }
        } else {
            print("signature  not checked (no --key)")
        }
        print(manifest.json.serialized())
        return 0
    }

    private static func fail(_ message: String, status: Int32) -> Int32 {
        StandardError.write("vigil-agent: \(message)\n")
        return status
    }
}
